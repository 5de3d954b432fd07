import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { EVENT_TYPES, isOperationalEventType } from '../../libs/contracts/catalogue';
import { uniqueTenant } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { deliveryIn, eventOf, publish, subscribeReceiver } from '../helpers/fixtures';
import { TestReceiver } from '../helpers/receiver';
import { loadConfig } from '../../libs/config/config';
import { Stack, startStack, WAITING_POLICY } from '../helpers/stack';

/** A failed attempt waits an hour, so only the test's own actions move deliveries on. */
let stack: Stack;

beforeAll(async () => {
  // The live-secret cap is reached by rotating faster than the per-minute rotation limit allows.
  const quotas = { ...loadConfig({}).quotas, rotationsPerMinute: 0 };
  stack = await startStack(WAITING_POLICY, { config: { quotas } });
});
afterAll(() => stack?.stop());

describe('secret rotation', () => {
  it('keeps a receiver holding only the old secret verifying until the grace period ends, and not after', async () => {
    const receiver = new TestReceiver();
    const { id, secret: oldSecret } = await subscribeReceiver(stack, receiver);
    const oldOnly = new Webhook(oldSecret);
    const verifiesWithOld = async () => {
      const before = receiver.requests.length;
      const sent = await stack.request('POST', `/v1/subscriptions/${id}/test`, { event_type: 'user.signed_in' });
      expect(sent.body.delivered).toBe(true);
      const request = receiver.requests[before];
      try {
        oldOnly.verify(request.body, request.headers as Record<string, string>);
        return true;
      } catch {
        return false;
      }
    };
    expect(await verifiesWithOld()).toBe(true);

    const rotated = await stack.request('POST', `/v1/subscriptions/${id}/rotate-secret`, { grace_period_seconds: 3 });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(oldSecret);
    expect(await verifiesWithOld()).toBe(true);
    const during = receiver.requests.at(-1)!;
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(() =>
      new Webhook(rotated.body.secret).verify(during.body, during.headers as Record<string, string>),
    ).not.toThrow();

    await sleep(3_500);
    expect(await verifiesWithOld()).toBe(false);
    const after = receiver.requests.at(-1)!;
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(() =>
      new Webhook(rotated.body.secret).verify(after.body, after.headers as Record<string, string>),
    ).not.toThrow();
  });

  it('stops the old secret at once with a grace period of 0, and refuses more than 7 days', async () => {
    const receiver = new TestReceiver();
    const { id, secret } = await subscribeReceiver(stack, receiver);
    await stack.request('POST', `/v1/subscriptions/${id}/rotate-secret`, { grace_period_seconds: 0 });
    await stack.request('POST', `/v1/subscriptions/${id}/test`, { event_type: 'user.updated' });
    const request = receiver.requests.at(-1)!;
    expect(() => new Webhook(secret).verify(request.body, request.headers as Record<string, string>)).toThrow();
    const tooLong = await stack.request('POST', `/v1/subscriptions/${id}/rotate-secret`, {
      grace_period_seconds: 8 * 86_400,
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.details).toEqual([{ field: 'grace_period_seconds', problem: 'must be <= 604800' }]);
  });

  it('keeps at most 5 live secrets: a 6th rotation with a grace period is refused, one with none still works', async () => {
    const receiver = new TestReceiver();
    const { id } = await subscribeReceiver(stack, receiver);
    const rotate = (grace: number) =>
      stack.request('POST', `/v1/subscriptions/${id}/rotate-secret`, { grace_period_seconds: grace });
    const signaturesSent = async () => {
      await stack.request('POST', `/v1/subscriptions/${id}/test`, { event_type: 'user.updated' });
      return String(receiver.requests.at(-1)!.headers['webhook-signature']).split(' ').length;
    };
    const firstEnds = (await rotate(3_600)).body.previous_secrets_valid_until;
    for (let i = 0; i < 3; i++) expect((await rotate(3_600)).status).toBe(200);
    expect(await signaturesSent()).toBe(5);

    const refused = await rotate(3_600);
    expect(refused).toMatchObject({
      status: 422,
      body: { error: { code: 'secret_limit_reached', details: { live_secrets: 5, first_ends_at: firstEnds } } },
    });
    expect(refused.body.error.message).toContain('grace_period_seconds 0');
    expect(await signaturesSent()).toBe(5);

    const leaked = await rotate(0);
    expect(leaked.status).toBe(200);
    expect(await signaturesSent()).toBe(1);
    const last = receiver.requests.at(-1)!;
    expect(() =>
      new Webhook(leaked.body.secret).verify(last.body, last.headers as Record<string, string>),
    ).not.toThrow();
    expect((await rotate(3_600)).status).toBe(200);
  });
});

describe('disable and enable', () => {
  it('stops waiting deliveries as subscription_disabled, takes no new events, and re-enabling does not resurrect them', async () => {
    const receiver = TestReceiver.answering(500);
    const { tenantId, id } = await subscribeReceiver(stack, receiver);
    const deliveryId = (await publish(stack.client, tenantId)).deliveries[0].id;
    await deliveryIn(stack.client, deliveryId, 'retry_scheduled');

    const disabled = await stack.request('POST', `/v1/subscriptions/${id}/disable`, { reason: 'receiver migrating' });
    expect(disabled.body).toMatchObject({ enabled: false, disabled_reason: 'receiver migrating' });
    const stopped = await deliveryIn(stack.client, deliveryId, 'dead_lettered');
    expect(stopped.failure_reason).toBe('subscription_disabled');
    expect((await publish(stack.client, tenantId)).deliveries).toEqual([]);

    expect((await stack.request('POST', `/v1/subscriptions/${id}/enable`)).body).toMatchObject({
      enabled: true,
      disabled_reason: null,
    });
    await sleep(500);
    expect((await stack.request('GET', `/v1/deliveries/${deliveryId}`)).body.status).toBe('dead_lettered');

    receiver.respondWith(() => ({ status: 200 }));
    expect((await stack.request('POST', `/v1/dead-letters/${deliveryId}/redrive`)).status).toBe(202);
    await deliveryIn(stack.client, deliveryId, 'delivered');
  });
});

describe('test sends', () => {
  it('sends a signed example of the type and reports what the receiver answered', async () => {
    const receiver = TestReceiver.answering(503);
    const { id, secret } = await subscribeReceiver(stack, receiver);
    const answer = await stack.request('POST', `/v1/subscriptions/${id}/test`, {
      event_type: 'security.brute_force_detected',
    });
    expect(answer.body).toMatchObject({
      delivered: false,
      status_code: 503,
      error: 'receiver answered 503',
      event_id: expect.stringMatching(/^evt_test_/),
    });
    const request = receiver.requests[0];
    expect(request.headers['x-intelliauth-event-type']).toBe('security.brute_force_detected');
    expect(new Webhook(secret).verify(request.body, request.headers as Record<string, string>)).toMatchObject({
      event_type: 'security.brute_force_detected',
      data: { ip: '198.51.100.23' },
      delivery: { attempt: 1, subscription_id: id },
    });
    const unknown = await stack.request('POST', `/v1/subscriptions/${id}/test`, { event_type: 'user.teleported' });
    expect(unknown.status).toBe(422);
    expect((await stack.request('GET', `/v1/deliveries?subscription_id=${id}`)).body.data).toEqual([]);
  });
});

describe('event type catalogue', () => {
  it('describes every type with a JSON Schema for data and an example that satisfies it (publishing the operational ones is refused)', async () => {
    const catalogue = (await stack.request('GET', '/v1/event-types')).body;
    expect(catalogue.data.map((t: { name: string }) => t.name)).toEqual(EVENT_TYPES);
    const tenantId = uniqueTenant();
    for (const type of catalogue.data) {
      expect(type).toMatchObject({ description: expect.any(String), data_schema: { type: 'object' } });
      const published = await stack.request(
        'POST',
        '/v1/events',
        eventOf(tenantId, { event_type: type.name, data: type.example }),
      );
      expect({ type: type.name, status: published.status }).toEqual({
        type: type.name,
        status: isOperationalEventType(type.name) ? 422 : 202,
      });
    }
  });

  it('refuses data that does not match its type’s schema, naming the field', async () => {
    const answer = await stack.request(
      'POST',
      '/v1/events',
      eventOf(uniqueTenant(), { event_type: 'user.signed_up', data: { account: { id: 'usr_1' } } }),
    );
    expect(answer.status).toBe(422);
    expect(answer.body.error.code).toBe('invalid_event_data');
    expect(answer.body.error.details).toEqual([{ field: 'data.user', problem: 'is required' }]);
    const wrongType = await stack.request(
      'POST',
      '/v1/events',
      eventOf(uniqueTenant(), { event_type: 'security.brute_force_detected', data: { attempts: 'many' } }),
    );
    expect(wrongType.body.error.details).toEqual([{ field: 'data.attempts', problem: 'must be integer' }]);
  });
});

describe('dead letters: filters, bulk redrive and the audit log', () => {
  it('filters by subscription, event type, reason and time, and a bulk redrive delivers them all once', async () => {
    const receiver = TestReceiver.answering(500);
    const { tenantId, id } = await subscribeReceiver(stack, receiver);
    const other = await subscribeReceiver(stack, TestReceiver.answering(500), { tenantId });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(
        (
          await publish(stack.client, tenantId, { event_type: i < 3 ? 'user.updated' : 'user.deleted' })
        ).deliveries.find((d) => d.subscription_id === id)!.id,
      );
    const otherDelivery = (await publish(stack.client, tenantId)).deliveries.find(
      (d) => d.subscription_id === other.id,
    )!.id;
    for (const deliveryId of [...ids, otherDelivery]) {
      await deliveryIn(stack.client, deliveryId, 'retry_scheduled');
      await stack.request('POST', `/v1/deliveries/${deliveryId}/retry`);
    }
    for (const deliveryId of [...ids, otherDelivery]) await deliveryIn(stack.client, deliveryId, 'dead_lettered');

    const list = async (query: string) =>
      (await stack.request('GET', `/v1/dead-letters?tenant_id=${tenantId}&${query}`)).body.data
        .map((d: { id: string }) => d.id)
        .sort();
    expect(await list(`subscription_id=${id}`)).toEqual([...ids].sort());
    expect(await list(`subscription_id=${id}&event_type=user.deleted`)).toEqual(ids.slice(3).sort());
    expect(await list('reason=exhausted')).toHaveLength(6);
    expect(await list('reason=expired')).toEqual([]);
    expect(await list(`from=${new Date(Date.now() + 60_000).toISOString()}`)).toEqual([]);
    expect(await list(`to=${new Date(Date.now() + 60_000).toISOString()}&subscription_id=${id}`)).toHaveLength(5);
    expect((await stack.request('GET', '/v1/dead-letters?from=yesterday')).status).toBe(400);

    receiver.respondWith(() => ({ status: 200 }));
    const job = await stack.request('POST', '/v1/dead-letters/redrive', { tenant_id: tenantId, subscription_id: id });
    expect(job.status).toBe(202);
    expect(job.body).toMatchObject({ id: expect.stringMatching(/^redrv_/), status: 'running' });
    const done = await eventually(
      async () => {
        const status = (await stack.request('GET', `/v1/dead-letters/redrives/${job.body.id}`)).body;
        return status.status === 'completed' ? status : undefined;
      },
      { timeout: 30_000, description: 'bulk redrive to complete' },
    );
    expect(done).toMatchObject({ matched: 5, redriven: 5, skipped: 0, failed: 0 });
    for (const deliveryId of ids) await deliveryIn(stack.client, deliveryId, 'delivered');
    expect((await stack.request('GET', `/v1/deliveries/${otherDelivery}`)).body.status).toBe('dead_lettered');

    const requestsAfterFirst = receiver.requests.length;
    const again = await stack.request('POST', '/v1/dead-letters/redrive', { tenant_id: tenantId, subscription_id: id });
    const second = await eventually(
      async () => {
        const status = (await stack.request('GET', `/v1/dead-letters/redrives/${again.body.id}`)).body;
        return status.status === 'completed' ? status : undefined;
      },
      { timeout: 30_000, description: 'second bulk redrive' },
    );
    expect(second).toMatchObject({ matched: 0, redriven: 0 });
    await sleep(500);
    expect(receiver.requests.length).toBe(requestsAfterFirst);

    const audit = (await stack.request('GET', `/v1/operator-actions?tenant_id=${tenantId}`)).body.data;
    const actions = audit.map((entry: { action: string }) => entry.action);
    expect(actions.filter((a: string) => a === 'delivery.retry')).toHaveLength(6);
    expect(actions.filter((a: string) => a === 'dead_letter.bulk_redrive')).toHaveLength(2);
    expect(audit[0]).toMatchObject({
      actor: expect.stringMatching(/^service_key:[0-9a-f]{8}$/),
      created_at: expect.any(String),
      target_type: 'bulk_redrive',
    });
  });

  it('records who rotated, disabled and enabled a subscription, and who cancelled a delivery', async () => {
    const receiver = TestReceiver.answering(500);
    const { tenantId, id } = await subscribeReceiver(stack, receiver);
    const key = (await stack.request('POST', `/v1/tenants/${tenantId}/api-keys`, { name: 'ops' })).body;
    const deliveryId = (await publish(stack.client, tenantId)).deliveries[0].id;
    await deliveryIn(stack.client, deliveryId, 'retry_scheduled');
    const asTenant = { apiKey: key.key };
    await stack.request('POST', `/v1/deliveries/${deliveryId}/cancel`, { reason: 'duplicate' }, asTenant);
    await stack.request('POST', `/v1/subscriptions/${id}/rotate-secret`, { grace_period_seconds: 60 }, asTenant);
    await stack.request('POST', `/v1/subscriptions/${id}/disable`, { reason: 'maintenance' });
    await stack.request('POST', `/v1/subscriptions/${id}/enable`, undefined, asTenant);

    const audit = (await stack.request('GET', `/v1/operator-actions?tenant_id=${tenantId}`)).body.data;
    expect(audit.map((e: { action: string; actor: string }) => [e.action, e.actor.split(':')[0]])).toEqual([
      ['subscription.enable', 'tenant_key'],
      ['subscription.disable', 'service_key'],
      ['subscription.rotate_secret', 'tenant_key'],
      ['delivery.cancel', 'tenant_key'],
      ['api_key.create', 'service_key'],
    ]);
    expect(audit[1].details).toMatchObject({ reason: 'maintenance' });
    expect(audit[3]).toMatchObject({
      target_id: deliveryId,
      actor: `tenant_key:${key.id}`,
      details: { reason: 'duplicate' },
    });
    expect(JSON.stringify(audit)).not.toContain('whsec_');
    const byTarget = (await stack.request('GET', `/v1/operator-actions?target_id=${deliveryId}`)).body.data;
    expect(byTarget).toHaveLength(1);
  });
});
