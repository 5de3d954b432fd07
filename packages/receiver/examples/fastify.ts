import Fastify from 'fastify';
import { verifyWebhook, WebhookVerificationError, type VerifiedEvent } from '@intelliauth/webhooks-receiver';

export function fastifyReceiver(secret: string, onEvent: (event: VerifiedEvent) => void) {
  const app = Fastify();
  // The signature covers the exact bytes sent: keep JSON bodies as the raw string, never parsed and re-serialized.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.post('/webhooks/intelliauth', async (request, reply) => {
    try {
      onEvent(verifyWebhook(request.body as string, request.headers, secret)); // dedupe on event_id: at-least-once
      return reply.code(204).send();
    } catch (error) {
      if (error instanceof WebhookVerificationError) return reply.code(400).send({ error: error.code });
      throw error;
    }
  });
  return app;
}
