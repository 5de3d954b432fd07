import { createServer } from 'node:http';
import { verifyWebhook, WebhookVerificationError, type VerifiedEvent } from '@intelliauth/webhooks-receiver';

export function nodeHttpReceiver(secret: string, onEvent: (event: VerifiedEvent) => void) {
  return createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    try {
      onEvent(verifyWebhook(Buffer.concat(chunks), request.headers, secret)); // dedupe on event_id: at-least-once
      response.writeHead(204).end();
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: error.code }));
    }
  });
}
