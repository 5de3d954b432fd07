import express from 'express';
import { verifyWebhook, WebhookVerificationError, type VerifiedEvent } from '@intelliauth/webhooks-receiver';

export function expressReceiver(secret: string, onEvent: (event: VerifiedEvent) => void) {
  const app = express();
  // express.raw keeps the exact bytes the signature covers (express.json would parse them away).
  app.post('/webhooks/intelliauth', express.raw({ type: 'application/json' }), (request, response) => {
    try {
      onEvent(verifyWebhook(request.body, request.headers, secret)); // dedupe on event_id: at-least-once
      response.sendStatus(204);
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      response.status(400).json({ error: error.code });
    }
  });
  return app;
}
