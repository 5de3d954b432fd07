import { createWebhooksClient, Schemas, WebhooksClient } from '@intelliauth/webhooks-client';
import { quickstart } from '../../packages/client/examples/quickstart';
import { uniqueTenant } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { TestReceiver } from '../helpers/receiver';
import { Stack, startStack, WAITING_POLICY } from '../helpers/stack';

// Three attempts an hour apart: a retried delivery waits again, so it can be cancelled.
const POLICY = { ...WAITING_POLICY, retryScheduleMs: [0, 3_600_000, 3_600_000] };

/**
 * The typed client (packages/client: openapi-fetch over the types generated from the OpenAPI document) against
 * the real api: the document's types must fit what the server takes and answers, and test/contract/openapi.spec.ts
 * holds the document to what the server serves, so a drift breaks one or the other.
 */
let stack: Stack;
let api: WebhooksClient;

beforeAll(async () => {
  stack = await startStack(POLICY);
  api = createWebhooksClient({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
});
afterAll(() => stack?.stop());

async function deliveryStatus(id: string): Promise<Schemas['DeliveryStatus'] | undefined> {
  return (await api.GET('/v1/deliveries/{id}', { params: { path: { id } } })).data?.status;
}

describe('the typed client (@intelliauth/webhooks-client)', () => {
  it('runs the quickstart docs/api.md shows: subscribe, publish, read the delivery', async () => {
    const receiver = new TestReceiver();
    const tenantId = uniqueTenant();
    const { subscription, published, delivery } = await quickstart(
      stack.baseUrl,
      stack.apiKey,
      tenantId,
      await stack.startReceiver(receiver),
    );
    expect(subscription).toMatchObject({ tenant_id: tenantId, event_types: ['user.*'], enabled: true });
    expect(published.deliveries).toEqual([{ id: delivery.id, subscription_id: subscription.id }]);
    await eventually(async () => (await deliveryStatus(delivery.id)) === 'delivered', {
      timeout: 20_000,
      description: 'the delivery',
    });
    expect(JSON.parse(receiver.requests[0].body)).toMatchObject({
      event_id: published.event_id,
      event_type: 'user.signed_up',
    });
  });

  it('manages a subscription with typed bodies and answers', async () => {
    const tenantId = uniqueTenant();
    const created = await api.POST('/v1/subscriptions', {
      body: {
        tenant_id: tenantId,
        url: 'https://hooks.example.com/a',
        event_types: ['security.*'],
        description: 'SIEM',
      },
    });
    expect(created.response.status).toBe(201);
    const id = created.data!.id;
    const updated = await api.PATCH('/v1/subscriptions/{id}', {
      params: { path: { id } },
      body: { event_types: ['*'], description: null },
    });
    expect(updated.data).toMatchObject({ id, event_types: ['*'], description: null });
    const listed = await api.GET('/v1/subscriptions', { params: { query: { tenant_id: tenantId, limit: 10 } } });
    expect(listed.data).toEqual({ data: [updated.data], next_cursor: null });
    const rotated = await api.POST('/v1/subscriptions/{id}/rotate-secret', {
      params: { path: { id } },
      body: { grace_period_seconds: 0 },
    });
    expect(rotated.data?.secret).toMatch(/^whsec_/);
    const disabled = await api.POST('/v1/subscriptions/{id}/disable', {
      params: { path: { id } },
      body: { reason: 'maintenance' },
    });
    expect(disabled.data).toMatchObject({ enabled: false, disabled_reason: 'maintenance' });
    expect((await api.DELETE('/v1/subscriptions/{id}', { params: { path: { id } } })).response.status).toBe(204);
    const gone = await api.GET('/v1/subscriptions/{id}', { params: { path: { id } } });
    expect(gone.error?.error.code).toBe('subscription_not_found');
  });

  it('publishes, reads the event and its deliveries, retries and cancels', async () => {
    const receiver = TestReceiver.answering(500);
    const tenantId = uniqueTenant();
    const subscription = (
      await api.POST('/v1/subscriptions', {
        body: { tenant_id: tenantId, url: await stack.startReceiver(receiver), event_types: ['user.*'] },
      })
    ).data!;
    const published = await api.POST('/v1/events', {
      body: {
        event_type: 'user.disabled',
        tenant: { id: tenantId, slug: 'acme' },
        actor: { kind: 'admin', id: 'adm_1' },
        data: { user: { id: 'usr_2' }, reason: 'left' },
      },
    });
    expect(published.response.status).toBe(202);
    const deliveryId = published.data!.deliveries[0].id;
    await eventually(async () => (await deliveryStatus(deliveryId)) === 'retry_scheduled', {
      timeout: 20_000,
      description: 'the failed first attempt',
    });

    const event = await api.GET('/v1/events/{eventId}', { params: { path: { eventId: published.data!.event_id } } });
    expect(event.data).toMatchObject({
      event_type: 'user.disabled',
      tenant: { id: tenantId, slug: 'acme' },
      deliveries: [{ id: deliveryId, subscription_id: subscription.id }],
    });
    const listed = await api.GET('/v1/deliveries', {
      params: { query: { tenant_id: tenantId, status: 'retry_scheduled' } },
    });
    expect(listed.data?.data.map((d) => d.id)).toEqual([deliveryId]);
    const detail = await api.GET('/v1/deliveries/{id}', { params: { path: { id: deliveryId } } });
    expect(detail.data?.attempts).toEqual([
      expect.objectContaining({ attempt: 1, status_code: 500, succeeded: false }),
    ]);

    expect((await api.POST('/v1/deliveries/{id}/retry', { params: { path: { id: deliveryId } } })).data).toEqual({
      id: deliveryId,
      status: 'retry_requested',
    });
    await eventually(() => receiver.requests.length === 2, { timeout: 20_000, description: 'the second attempt' });
    await eventually(async () => (await deliveryStatus(deliveryId)) === 'retry_scheduled', {
      timeout: 20_000,
      description: 'waiting again',
    });
    expect(
      (await api.POST('/v1/deliveries/{id}/cancel', { params: { path: { id: deliveryId } }, body: { reason: 'done' } }))
        .data,
    ).toEqual({ id: deliveryId, status: 'cancel_requested' });
    await eventually(async () => (await deliveryStatus(deliveryId)) === 'cancelled', {
      timeout: 20_000,
      description: 'cancelled',
    });
    const late = await api.POST('/v1/deliveries/{id}/retry', { params: { path: { id: deliveryId } } });
    expect([late.response.status, late.error?.error.code]).toEqual([409, 'delivery_not_active']);
  });
});
