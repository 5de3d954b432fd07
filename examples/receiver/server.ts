/**
 * A receiver in a few lines of Fastify. The pitfall: the signature covers the exact bytes sent, so the body must
 * reach the verifier raw, never parsed and re-serialized. Run: WEBHOOK_SECRET=whsec_… PORT=4000 node server.js
 */
import Fastify from 'fastify';
import { verifyWebhook, WebhookVerificationError } from '../../libs/receiver/verify-webhook';

export function buildReceiver(secrets: string[], onEvent: (event: ReturnType<typeof verifyWebhook>) => void) {
  const app = Fastify();
  // Keep JSON bodies as the raw string: this replaces Fastify's JSON parser for this app.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  const seen = new Set<string>();
  app.post('/webhooks/intelliauth', async (request, reply) => {
    try {
      const event = verifyWebhook(request.body as string, request.headers, secrets);
      // Delivery is at-least-once: the event id is stable across attempts and redrives.
      if (!seen.has(event.event_id)) {
        seen.add(event.event_id);
        onEvent(event);
      }
      return reply.code(204).send();
    } catch (error) {
      if (error instanceof WebhookVerificationError) return reply.code(400).send({ error: error.code });
      throw error;
    }
  });
  return app;
}

if (require.main === module) {
  const secrets = (process.env.WEBHOOK_SECRET ?? '').split(',').filter(Boolean);
  const app = buildReceiver(secrets, (event) => console.log(`${event.event_type} ${event.event_id}`));
  void app.listen({ port: Number(process.env.PORT ?? 4000), host: '127.0.0.1' });
}
