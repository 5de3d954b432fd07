// A receiver with Go's standard library and the Standard Webhooks module.
// WEBHOOK_SECRET=whsec_… PORT=4000 go run .
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func main() {
	webhook, err := standardwebhooks.NewWebhook(os.Getenv("WEBHOOK_SECRET"))
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("POST /webhooks/intelliauth", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body) // the raw bytes the signature covers
		if err := webhook.Verify(body, r.Header); err != nil {
			http.Error(w, `{"error":"invalid_signature"}`, http.StatusBadRequest)
			return
		}
		var event struct {
			EventID   string `json:"event_id"`
			EventType string `json:"event_type"`
		}
		_ = json.Unmarshal(body, &event)
		fmt.Printf("%s %s\n", event.EventType, event.EventID) // dedupe on event_id: at-least-once
		w.WriteHeader(http.StatusNoContent)
	})
	listener, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %d\n", listener.Addr().(*net.TCPAddr).Port)
	log.Fatal(http.Serve(listener, nil))
}
