import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { ApiKeysRepository } from '../../libs/db/api-keys.repository';
import { testPool, uniqueTenant } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { deliveryIn, publish, subscribeReceiver } from '../helpers/fixtures';
import { TestReceiver } from '../helpers/receiver';
import { Stack, startStack } from '../helpers/stack';

/**
 * Operational events on the real path: api, worker, outbox relay, Temporal, Postgres and receivers on 127.0.0.1.
 * Three attempts 200 ms apart, and a subscription failing for 2.5 s is disabled: a delivery dead-letters well
 * before its subscription counts as failing, and the next delivery after 2.5 s of failures disables it.
 */
const FAILING_AFTER_MS = 2_500;
const PLATFORM = `tnt_platform_${uniqueTenant()}`;

let stack: Stack;
const platformReceiver = new TestReceiver();
let platformSecret: string;

interface Delivered {
  event_id: string;
  event_type: string;
  tenant: { id: string };
  actor?: { kind: string; id?: string };
  data: Record<string, any>;
  delivery: { subscription_id: string };
}

beforeAll(async () => {
  stack = await startStack(
    { retryScheduleMs: [0, 200, 200], attemptTimeoutMs: 2_000, ttlMs: 86_400_000 },
    { config: { failureDisableAfterMs: FAILING_AFTER_MS, platformTenantId: PLATFORM } },
  );
  platformSecret = (await subscribeReceiver(stack, platformReceiver, { tenantId: PLATFORM, eventTypes: ['webhook.*'] }))
    .secret;
});
afterAll(() => stack?.stop());

/** What a receiver was sent, as parsed bodies (only the successful or last attempt of each event counts once). */
function received(receiver: TestReceiver, eventType: string, about?: (event: Delivered) => boolean): Delivered[] {
  const events = receiver.requests
    .map((request) => JSON.parse(request.body) as Delivered)
    .filter((event) => event.event_type === eventType && (about?.(event) ?? true));
  return [...new Map(events.map((event) => [event.event_id, event])).values()];
}

const receivedOne = (receiver: TestReceiver, eventType: string, about: (event: Delivered) => boolean) =>
  eventually(() => received(receiver, eventType, about)[0], {
    timeout: 30_000,
    description: `${eventType} at the receiver`,
  });

const settle = () => sleep(1_500);

describe('a subscription that keeps failing', () => {
  it('dead-letters its deliveries with webhook.delivery.dead_lettered, then is disabled as failing with webhook.subscription.disabled, never sent to itself', async () => {
    const tenantId = uniqueTenant();
    const failing = new TestReceiver(() => ({ status: 500 }));
    const alerting = new TestReceiver();
    // The failing subscription names the operational events too: none about itself may reach it.
    const subscription = await subscribeReceiver(stack, failing, { tenantId, eventTypes: ['user.*', 'webhook.*'] });
    const alerts = await subscribeReceiver(stack, alerting, { tenantId, eventTypes: ['webhook.*'] });

    const first = await publish(stack.client, tenantId);
    const firstDelivery = first.deliveries.find((d) => d.subscription_id === subscription.id)!.id;
    const deadLettered = await receivedOne(
      alerting,
      'webhook.delivery.dead_lettered',
      (event) => event.data.delivery.id === firstDelivery,
    );
    expect(deadLettered).toMatchObject({
      event_id: `evt_wh_dead_${firstDelivery}_0`,
      tenant: { id: tenantId },
      actor: { kind: 'system' },
      data: {
        delivery: {
          id: firstDelivery,
          event_id: first.eventId,
          event_type: 'user.updated',
          subscription_id: subscription.id,
          attempts: 3,
        },
        reason: 'exhausted',
      },
      delivery: { subscription_id: alerts.id },
    });
    // Signed like every delivery, with the alerting subscription's own secret.
    const request = alerting.requests.find((r) => JSON.parse(r.body).event_id === deadLettered.event_id)!;
    expect(() =>
      new Webhook(alerts.secret).verify(request.body, request.headers as Record<string, string>),
    ).not.toThrow();
    expect(
      await receivedOne(
        platformReceiver,
        'webhook.delivery.dead_lettered',
        (event) => event.event_id === deadLettered.event_id,
      ),
    ).toMatchObject({
      tenant: { id: tenantId },
      data: deadLettered.data,
    });
    expect((await stack.request('GET', `/v1/subscriptions/${subscription.id}`)).body.enabled).toBe(true);
    // The tenant sees its event and its own delivery of it, not the platform's.
    const tenantKey = (await stack.request('POST', `/v1/tenants/${tenantId}/api-keys`, {})).body.key;
    const asTenant = await stack.request('GET', `/v1/events/${deadLettered.event_id}`, undefined, {
      apiKey: tenantKey,
    });
    expect(asTenant.body).toMatchObject({ event_type: 'webhook.delivery.dead_lettered', tenant: { id: tenantId } });
    expect(asTenant.body.deliveries.map((d: { subscription_id: string }) => d.subscription_id)).toEqual([alerts.id]);
    const asService = await stack.request('GET', `/v1/events/${deadLettered.event_id}`);
    expect(asService.body.deliveries.map((d: { tenant_id: string }) => d.tenant_id).sort()).toEqual(
      [PLATFORM, tenantId].sort(),
    );

    // Still failing once the window has passed: the next failed attempt disables the subscription.
    const firstAttemptAt = Date.parse(
      (await stack.request('GET', `/v1/deliveries/${firstDelivery}`)).body.attempts[0].started_at,
    );
    await sleep(Math.max(0, firstAttemptAt + FAILING_AFTER_MS - Date.now()));
    const second = await publish(stack.client, tenantId);
    const secondDelivery = second.deliveries.find((d) => d.subscription_id === subscription.id)!.id;
    const disabled = await receivedOne(
      alerting,
      'webhook.subscription.disabled',
      (event) => event.data.subscription.id === subscription.id,
    );
    expect(disabled).toMatchObject({
      event_id: `evt_wh_disabled_${subscription.id}_${firstAttemptAt}`,
      tenant: { id: tenantId },
      data: {
        subscription: { id: subscription.id },
        reason: 'failing',
        failing_since: new Date(firstAttemptAt).toISOString(),
      },
    });
    expect(disabled.data.message).toBe('failing');
    expect(
      await receivedOne(
        platformReceiver,
        'webhook.subscription.disabled',
        (event) => event.event_id === disabled.event_id,
      ),
    ).toMatchObject({ data: disabled.data });

    expect((await stack.request('GET', `/v1/subscriptions/${subscription.id}`)).body).toMatchObject({
      enabled: false,
      disabled_reason: disabled.data.message,
    });
    const audit = await stack.request('GET', `/v1/operator-actions?target_id=${subscription.id}`);
    expect(audit.body.data).toEqual([
      expect.objectContaining({
        action: 'subscription.disable',
        actor: 'system',
        details: expect.objectContaining({ reason: disabled.data.message }),
      }),
    ]);
    await deliveryIn(stack.client, secondDelivery, 'dead_lettered');
    expect((await stack.request('GET', `/v1/deliveries/${secondDelivery}`)).body.failure_reason).toBe(
      'subscription_disabled',
    );

    await settle();
    // A dead letter of a disable says nothing more: the disabled event said it.
    expect(received(alerting, 'webhook.delivery.dead_lettered')).toHaveLength(1);
    expect(
      failing.requests.map((r) => JSON.parse(r.body).event_type).every((type: string) => type === 'user.updated'),
    ).toBe(true);
  });

  it('reports the first success after failures as webhook.subscription.recovered', async () => {
    const tenantId = uniqueTenant();
    const flaky = TestReceiver.answering(500, 200);
    const alerting = new TestReceiver();
    const subscription = await subscribeReceiver(stack, flaky, { tenantId, eventTypes: ['user.*'] });
    await subscribeReceiver(stack, alerting, { tenantId, eventTypes: ['webhook.subscription.recovered'] });

    const published = await publish(stack.client, tenantId);
    const deliveryId = published.deliveries.find((d) => d.subscription_id === subscription.id)!.id;
    await deliveryIn(stack.client, deliveryId, 'delivered');
    const attempts = (await stack.request('GET', `/v1/deliveries/${deliveryId}`)).body.attempts;
    const recovered = await receivedOne(
      alerting,
      'webhook.subscription.recovered',
      (event) => event.data.subscription.id === subscription.id,
    );
    expect(recovered).toMatchObject({
      tenant: { id: tenantId },
      data: { subscription: { id: subscription.id }, failing_since: attempts[0].started_at },
    });
    expect(
      await receivedOne(
        platformReceiver,
        'webhook.subscription.recovered',
        (event) => event.event_id === recovered.event_id,
      ),
    ).toBeDefined();

    // A later success, with nothing failing in between, reports nothing.
    const next = await publish(stack.client, tenantId);
    await deliveryIn(stack.client, next.deliveries.find((d) => d.subscription_id === subscription.id)!.id, 'delivered');
    await settle();
    expect(received(alerting, 'webhook.subscription.recovered')).toHaveLength(1);
  });
});

describe('no loops', () => {
  it('emits nothing for the failures of an operational event’s own deliveries, which never make their subscription failing', async () => {
    const tenantId = uniqueTenant();
    const downAlerting = new TestReceiver(() => ({ status: 500 }));
    const alerts = await subscribeReceiver(stack, downAlerting, { tenantId, eventTypes: ['webhook.*'] });
    const gone = await subscribeReceiver(stack, new TestReceiver(() => ({ status: 410 })), {
      tenantId,
      eventTypes: ['user.*'],
    });

    await publish(stack.client, tenantId);
    const disabled = await receivedOne(
      platformReceiver,
      'webhook.subscription.disabled',
      (event) => event.data.subscription.id === gone.id,
    );
    expect(disabled).toMatchObject({
      tenant: { id: tenantId },
      actor: { kind: 'system' },
      data: { reason: 'gone', message: 'receiver answered 410 Gone' },
    });
    const deadLetters = () =>
      stack
        .request('GET', `/v1/dead-letters?subscription_id=${alerts.id}`)
        .then((r) => r.body.data as Array<{ id: string; failure_reason: string }>);
    await eventually(async () => (await deadLetters()).length === 1, {
      timeout: 20_000,
      description: "the alerting subscription's dead letter",
    });

    // Past the failing window, an operator disables another subscription: its event fails at the alerting
    // receiver again, and the alerting subscription stays enabled (its failures are not counted).
    await sleep(FAILING_AFTER_MS);
    const other = await subscribeReceiver(stack, new TestReceiver(), { tenantId, eventTypes: ['user.*'] });
    expect((await stack.request('POST', `/v1/subscriptions/${other.id}/disable`, { reason: 'migrating' })).status).toBe(
      200,
    );
    const byOperator = await receivedOne(
      platformReceiver,
      'webhook.subscription.disabled',
      (event) => event.data.subscription.id === other.id,
    );
    expect(byOperator).toMatchObject({
      actor: { kind: 'api_key', id: expect.stringMatching(/^service_key:/) },
      data: { reason: 'operator', message: 'migrating' },
    });
    await eventually(async () => (await deadLetters()).length === 2, {
      timeout: 20_000,
      description: "the alerting subscription's second dead letter",
    });
    expect((await deadLetters()).map((d) => d.failure_reason)).toEqual(['exhausted', 'exhausted']);

    await settle();
    expect((await stack.request('GET', `/v1/subscriptions/${alerts.id}`)).body.enabled).toBe(true);
    expect(
      received(
        platformReceiver,
        'webhook.delivery.dead_lettered',
        (event) => event.data.delivery.subscription_id === alerts.id,
      ),
    ).toEqual([]);
    expect(
      received(platformReceiver, 'webhook.subscription.disabled', (event) => event.data.subscription.id === alerts.id),
    ).toEqual([]);
  });
});

describe('the platform tenant and the API', () => {
  it('refuses to publish operational events (422 operational_event_type)', async () => {
    const refused = await stack.request('POST', '/v1/events', {
      event_type: 'webhook.subscription.disabled',
      tenant: { id: uniqueTenant() },
      data: {},
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({
      code: 'operational_event_type',
      message: expect.stringContaining('cannot be published'),
    });
    const forPlatform = await stack.request('POST', '/v1/events', {
      event_type: 'user.updated',
      tenant: { id: PLATFORM },
      data: { user: { id: 'usr_1' } },
    });
    expect(forPlatform.status).toBe(422);
    expect(forPlatform.body.error.code).toBe('platform_tenant');
  });

  it('lists the operational events in the catalogue, as the webhook category', async () => {
    const catalogue = (await stack.request('GET', '/v1/event-types')).body;
    expect(
      catalogue.data
        .filter((type: { category: string }) => type.category === 'webhook')
        .map((type: { name: string }) => type.name),
    ).toEqual([
      'webhook.subscription.disabled',
      'webhook.delivery.dead_lettered',
      'webhook.subscription.recovered',
      'webhook.certificate.expiring',
      'webhook.subscription.failing',
    ]);
    expect(catalogue.filters).toContain('webhook.*');
  });

  it('manages the platform tenant with service keys only, and gives its subscriptions operational events only', async () => {
    const keyRefused = await stack.request('POST', `/v1/tenants/${PLATFORM}/api-keys`, {});
    expect(keyRefused.status).toBe(422);
    expect(keyRefused.body.error.code).toBe('platform_tenant');
    // A key made before the tenant was reserved is refused at every request.
    const pool = testPool();
    const { key } = await new ApiKeysRepository(pool).create(PLATFORM, 'older key', 'test');
    await pool.end();
    const asPlatformKey = await stack.request('GET', '/v1/subscriptions', undefined, { apiKey: key });
    expect(asPlatformKey.status).toBe(403);
    expect(asPlatformKey.body.error).toMatchObject({
      code: 'service_key_required',
      message: expect.stringContaining('service keys only'),
    });

    const everything = await stack.request('POST', '/v1/subscriptions', {
      tenant_id: PLATFORM,
      url: platformReceiver.url('/x'),
      event_types: ['*'],
    });
    expect(everything.status).toBe(422);
    expect(everything.body.error).toMatchObject({ code: 'operational_events_only', details: { unknown: ['*'] } });

    // Every tenant's ordinary events stay with that tenant: the platform's receiver got operational events only.
    await settle();
    expect(platformReceiver.requests.length).toBeGreaterThan(0);
    for (const request of platformReceiver.requests) {
      expect(JSON.parse(request.body).event_type).toMatch(/^webhook\./);
      expect(() =>
        new Webhook(platformSecret).verify(request.body, request.headers as Record<string, string>),
      ).not.toThrow();
    }
  });
});
