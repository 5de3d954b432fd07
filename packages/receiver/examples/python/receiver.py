# A receiver with Python's standard library and the Standard Webhooks package (pip install standardwebhooks).
# WEBHOOK_SECRET=whsec_… PORT=4000 python receiver.py
import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

webhook = Webhook(os.environ["WEBHOOK_SECRET"])


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))  # the raw bytes the signature covers
        try:
            event = webhook.verify(body, dict(self.headers))
        except WebhookVerificationError as error:
            self.send_response(400)
            self.end_headers()
            self.wfile.write(json.dumps({"error": str(error)}).encode())
            return
        print(f"{event['event_type']} {event['event_id']}", flush=True)  # dedupe on event_id: at-least-once
        self.send_response(204)
        self.end_headers()


server = HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "4000"))), Receiver)
print(f"listening on {server.server_port}", flush=True)
server.serve_forever()
