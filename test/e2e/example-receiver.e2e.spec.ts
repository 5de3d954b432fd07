import { AddressInfo } from 'node:net';
import { buildReceiver } from '../../examples/receiver/server';
import type { VerifiedEvent } from '../../libs/receiver/verify-webhook';
import { uniqueTenant } from '../helpers/database';
import { eventually } from '../helpers/receiver';
import { Stack, startStack } from '../helpers/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ retryScheduleMs: [0, 1_000], attemptTimeoutMs: 2_000, ttlMs: 86_400_000 });
});
afterAll(() => stack?.stop());

describe('the example receiver (examples/receiver/server.ts) with the receiver library', () => {
  it('verifies real deliveries from raw bodies and rejects tampering', async () => {
    const tenantId = uniqueTenant();
    const received: VerifiedEvent[] = [];
    // The secret exists once the subscription does: subscribe first, then point it at the started receiver.
    const subscription = await stack.request('POST', '/v1/subscriptions', { tenant_id: tenantId, url: 'http://127.0.0.1:9/not-yet', event_types: ['user.*'] });
    const app = buildReceiver([subscription.body.secret], (event) => received.push(event));
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/webhooks/intelliauth`;
      await stack.request('PATCH', `/v1/subscriptions/${subscription.body.id}`, { url });

      const published = await stack.request('POST', '/v1/events', { event_type: 'user.disabled', tenant: { id: tenantId }, data: { user: { id: 'usr_5' }, reason: 'offboarded' } });
      await eventually(() => received.length === 1, 20_000, 'the example receiver to accept the event');
      expect(received[0]).toMatchObject({ event_id: published.body.event_id, event_type: 'user.disabled', data: { user: { id: 'usr_5' } } });
      const deliveryId = published.body.deliveries[0].id;
      await eventually(async () => (await stack.request('GET', `/v1/deliveries/${deliveryId}`)).body.status === 'delivered', 20_000, 'delivered');
      expect((await stack.request('GET', `/v1/deliveries/${deliveryId}`)).body.last_status_code).toBe(204);

      // A test send is a fresh event id; the receiver takes it too.
      expect((await stack.request('POST', `/v1/subscriptions/${subscription.body.id}/test`, { event_type: 'user.updated' })).body).toMatchObject({ delivered: true, status_code: 204 });
      expect(received).toHaveLength(2);

      const forged = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'webhook-id': 'evt_x', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' },
        body: JSON.stringify({ event_id: 'evt_x' }),
      });
      expect(forged.status).toBe(400);
      expect(await forged.json()).toEqual({ error: 'invalid_signature' });
      expect(received).toHaveLength(2);
    } finally {
      await app.close();
    }
  });
});
