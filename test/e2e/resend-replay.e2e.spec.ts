import { Metadata, ServiceError, status } from '@grpc/grpc-js';
import { Pool } from 'pg';
import { testPool, uniqueTenant } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { webhooksClient } from '../helpers/grpc-clients';
import { deadLetter, deliveryIn, publish, subscribeReceiver } from '../helpers/fixtures';
import { TestReceiver } from '../helpers/receiver';
import { Stack, startStack } from '../helpers/stack';

/**
 * Resend and replay against the real stack: a delivered delivery sent again, a subscription's past events replayed
 * (matched as it subscribes now), a replay whose batch died midway resumed without sending anything twice, and a
 * subscription created disabled.
 */

/** One attempt, then a dead letter: failures end at once, so only_failed has dead letters to take. */
const ONE_ATTEMPT = { retryScheduleMs: [0], attemptTimeoutMs: 2_000, ttlMs: 86_400_000 };

let stack: Stack;
let pool: Pool;

beforeAll(async () => {
  stack = await startStack(ONE_ATTEMPT);
  pool = testPool();
});
afterAll(async () => {
  await stack?.stop();
  await pool?.end();
});

const eventIdsOf = (receiver: TestReceiver) =>
  receiver.requests.map((r) => String(r.headers['x-intelliauth-event-id']));

/** The replay once its job has walked the whole window and none of its deliveries is still on its way. */
function replaySettled(id: string): Promise<any> {
  return eventually(
    async () => {
      const replay = (await stack.request('GET', `/v1/replays/${id}`)).body;
      return replay.status === 'completed' && replay.pending === 0 ? replay : undefined;
    },
    { timeout: 30_000, description: `replay ${id} to settle` },
  );
}

/** A window around now wide enough for every event the test just published. */
const aroundNow = () => ({
  from: new Date(Date.now() - 3_600_000).toISOString(),
  to: new Date(Date.now() + 60_000).toISOString(),
});

describe('POST /v1/deliveries/{id}/resend', () => {
  it('sends a delivered delivery again with the same event id, the attempts numbered on, as an operator action', async () => {
    const receiver = TestReceiver.answering(200);
    const { tenantId } = await subscribeReceiver(stack, receiver);
    const { eventId, deliveries } = await publish(stack.client, tenantId);
    const deliveryId = deliveries[0].id;
    await deliveryIn(stack.client, deliveryId, 'delivered');

    const resent = await stack.request('POST', `/v1/deliveries/${deliveryId}/resend`);
    expect(resent).toMatchObject({ status: 202, body: { id: deliveryId, status: 'pending' } });
    const again = await eventually(() => stack.client.get(`/v1/deliveries/${deliveryId}`), {
      timeout: 20_000,
      description: 'the resend delivered',
      until: (d: any) => d.status === 'delivered' && d.attempt_count === 2,
    });
    expect(again).toMatchObject({ redrive_count: 1, failure_reason: null });
    expect(eventIdsOf(receiver)).toEqual([eventId, eventId]);
    expect(receiver.requests.map((r) => r.headers['x-intelliauth-delivery-attempt'])).toEqual(['1', '2']);
    expect(receiver.requests.map((r) => r.headers['webhook-id'])).toEqual([eventId, eventId]);

    const audit = (await stack.request('GET', `/v1/operator-actions?target_id=${deliveryId}`)).body.data;
    expect(audit).toEqual([
      expect.objectContaining({
        action: 'delivery.resend',
        tenant_id: tenantId,
        details: { previous_status: 'delivered', first_attempt: 2, outcome: 'completed' },
      }),
    ]);
  });

  it('resends a dead letter too, and answers 404 for an unknown delivery', async () => {
    const receiver = TestReceiver.answering(500, 200);
    const { tenantId } = await subscribeReceiver(stack, receiver);
    const deliveryId = await deadLetter(stack.client, tenantId);
    expect((await stack.request('POST', `/v1/deliveries/${deliveryId}/resend`)).status).toBe(202);
    expect(await deliveryIn(stack.client, deliveryId, 'delivered')).toMatchObject({ attempt_count: 2 });

    const unknown = await stack.request('POST', '/v1/deliveries/whdlv_01JZZZZZZZZZZZZZZZZZZZZZZZ/resend');
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'delivery_not_found' } } });
  });

  it('refuses a delivery still on its way with 409 delivery_not_ended, naming its status', async () => {
    const receiver = new TestReceiver(() => ({ status: 200, delayMs: 1_500 }));
    const { tenantId } = await subscribeReceiver(stack, receiver);
    const deliveryId = (await publish(stack.client, tenantId)).deliveries[0].id;
    const refused = await stack.request('POST', `/v1/deliveries/${deliveryId}/resend`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'delivery_not_ended' });
    expect(refused.body.error.message).toMatch(/^delivery whdlv_\w+ is (pending|attempting); only an ended delivery/);
    await deliveryIn(stack.client, deliveryId, 'delivered');
    expect(receiver.requests).toHaveLength(1);
  });
});

describe('a subscription created with enabled: false', () => {
  it('gets no deliveries until it is enabled, and can be test-sent meanwhile', async () => {
    const receiver = TestReceiver.answering(200);
    const created = await subscribeReceiver(stack, receiver, { enabled: false });
    const subscription = await stack.client.get(`/v1/subscriptions/${created.id}`);
    expect(subscription).toMatchObject({ enabled: false, disabled_reason: 'created disabled' });

    expect((await publish(stack.client, created.tenantId)).deliveries).toEqual([]);
    const tested = await stack.request('POST', `/v1/subscriptions/${created.id}/test`, { event_type: 'user.updated' });
    expect(tested).toMatchObject({ status: 200, body: { delivered: true, status_code: 200 } });

    const enabled = await stack.request('PATCH', `/v1/subscriptions/${created.id}`, { enabled: true });
    expect(enabled.body).toMatchObject({ enabled: true, disabled_reason: null });
    const { deliveries } = await publish(stack.client, created.tenantId);
    await deliveryIn(stack.client, deliveries[0].id, 'delivered');
    // The test send and the delivery after enabling: nothing of the publish while it was disabled.
    expect(receiver.requests).toHaveLength(2);
  });
});

describe('POST /v1/subscriptions/{id}/replay', () => {
  it('delivers exactly the 3 events of the window the subscription matches now, and reports them', async () => {
    const tenantId = uniqueTenant();
    const matching: string[] = [];
    for (const eventType of ['user.signed_up', 'user.updated', 'user.deleted'])
      matching.push((await publish(stack.client, tenantId, { event_type: eventType })).eventId);
    for (const eventType of ['security.brute_force_detected', 'security.token_reuse_detected'])
      await publish(stack.client, tenantId, { event_type: eventType, data: {} });
    // Subscribed after the events: only a replay can bring them.
    const receiver = TestReceiver.answering(200);
    const { id } = await subscribeReceiver(stack, receiver, { tenantId, eventTypes: ['user.*'] });

    const window = aroundNow();
    const started = await stack.request('POST', `/v1/subscriptions/${id}/replay`, window);
    expect(started).toMatchObject({
      status: 202,
      body: {
        id: expect.stringMatching(/^rply_/),
        tenant_id: tenantId,
        subscription_id: id,
        from: window.from,
        to: window.to,
        only_failed: false,
        not_replayed: null,
      },
    });
    const replay = await replaySettled(started.body.id);
    expect(replay).toMatchObject({ matched: 3, delivered: 3, failed: 0, pending: 0, skipped: 0 });
    expect(eventIdsOf(receiver).sort()).toEqual([...matching].sort());
    const audit = (await stack.request('GET', `/v1/operator-actions?target_id=${id}&action=subscription.replay`)).body;
    expect(audit.data).toEqual([
      expect.objectContaining({ details: expect.objectContaining({ replay_id: started.body.id }) }),
    ]);
  });

  it('with only_failed, delivers again only the dead letters, after the earlier deliveries ended', async () => {
    const receiver = new TestReceiver(() => ({ status: 200 }));
    const { tenantId, id } = await subscribeReceiver(stack, receiver);
    const delivered = (await publish(stack.client, tenantId)).deliveries[0].id;
    await deliveryIn(stack.client, delivered, 'delivered');
    receiver.respondWith(() => ({ status: 500 }));
    const dead = [await deadLetter(stack.client, tenantId), await deadLetter(stack.client, tenantId)];
    receiver.respondWith(() => ({ status: 200 }));
    const before = receiver.requests.length;

    const started = await stack.request('POST', `/v1/subscriptions/${id}/replay`, {
      ...aroundNow(),
      only_failed: true,
    });
    expect(started.status).toBe(202);
    expect(await replaySettled(started.body.id)).toMatchObject({ matched: 2, delivered: 2, failed: 0 });
    for (const deliveryId of dead)
      expect(await stack.client.get(`/v1/deliveries/${deliveryId}`)).toMatchObject({
        status: 'delivered',
        attempt_count: 2,
      });
    expect(receiver.requests).toHaveLength(before + 2);
  });

  it('resumes a job whose batch died after taking its deliveries, and delivers nothing twice', async () => {
    const tenantId = uniqueTenant();
    const receiver = TestReceiver.answering(200);
    const { id } = await subscribeReceiver(stack, receiver, { tenantId });
    const events: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { eventId, deliveries } = await publish(stack.client, tenantId);
      await deliveryIn(stack.client, deliveries[0].id, 'delivered');
      events.push(eventId);
    }
    // The first record of the replay's progress fails, as if the worker died after its batch took every delivery
    // and before it wrote where it stood: the activity's retry walks the same batch again. A sequence, since
    // nextval() outlives the rolled-back statement, so only the first record fails.
    const name = `replay_dies_${tenantId.replace(/\W/g, '_').toLowerCase()}`;
    await pool.query(`CREATE SEQUENCE ${name}`);
    await pool.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.tenant_id = '${tenantId}' AND NEW.kind = 'replay' AND nextval('${name}') = 1 THEN
        RAISE EXCEPTION 'worker died before recording the batch'; END IF; RETURN NEW; END; $$`);
    await pool.query(`CREATE TRIGGER ${name} BEFORE UPDATE ON bulk_redrives FOR EACH ROW EXECUTE FUNCTION ${name}()`);
    try {
      const started = await stack.request('POST', `/v1/subscriptions/${id}/replay`, aroundNow());
      expect(started.status).toBe(202);
      expect(await replaySettled(started.body.id)).toMatchObject({ matched: 3, delivered: 3, failed: 0 });
      const { rows } = await pool.query<{ n: string }>(`SELECT last_value AS n FROM ${name}`);
      // The batch did die once and ran again.
      expect(Number(rows[0].n)).toBeGreaterThanOrEqual(2);
    } finally {
      await pool.query(`DROP TRIGGER ${name} ON bulk_redrives`);
      await pool.query(`DROP FUNCTION ${name}()`);
      await pool.query(`DROP SEQUENCE ${name}`);
    }
    // Each event once when published, once by the replay: never a third time.
    const counts = new Map<string, number>();
    for (const eventId of eventIdsOf(receiver)) counts.set(eventId, (counts.get(eventId) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual(Object.fromEntries(events.map((e) => [e, 2])));
    expect(receiver.requests.map((r) => r.headers['x-intelliauth-delivery-attempt'])).toEqual([
      '1',
      '1',
      '1',
      '2',
      '2',
      '2',
    ]);
  });

  it('answers the part of the window older than RETENTION as not replayed, and refuses a window wholly older', async () => {
    const { id } = await subscribeReceiver(stack, TestReceiver.answering(200));
    const day = 86_400_000;
    const retention = stack.config.retention.retentionMs;
    const from = new Date(Date.now() - retention - day).toISOString();
    const to = new Date(Date.now() - retention + day).toISOString();
    const partly = await stack.request('POST', `/v1/subscriptions/${id}/replay`, { from, to });
    expect(partly.status).toBe(202);
    expect(partly.body.not_replayed).toEqual({ from, to: partly.body.from, reason: 'retention' });
    expect(Date.parse(partly.body.from)).toBeGreaterThan(Date.parse(from));
    await replaySettled(partly.body.id);

    const gone = await stack.request('POST', `/v1/subscriptions/${id}/replay`, {
      from: new Date(Date.now() - retention - 3 * day).toISOString(),
      to: new Date(Date.now() - retention - 2 * day).toISOString(),
    });
    expect(gone).toMatchObject({ status: 422, body: { error: { code: 'replay_beyond_retention' } } });
  });

  it('refuses a window that is backwards or too long, unknown event types, and an unknown replay', async () => {
    const { id } = await subscribeReceiver(stack, TestReceiver.answering(200));
    const now = Date.now();
    const at = (ms: number) => new Date(ms).toISOString();
    const backwards = await stack.request('POST', `/v1/subscriptions/${id}/replay`, { from: at(now), to: at(now - 1) });
    expect(backwards).toMatchObject({ status: 422, body: { error: { code: 'invalid_replay_window' } } });
    const tooLong = await stack.request('POST', `/v1/subscriptions/${id}/replay`, {
      from: at(now - stack.config.replayMaxWindowMs - 1_000),
      to: at(now),
    });
    expect(tooLong).toMatchObject({ status: 422, body: { error: { code: 'replay_window_too_long' } } });
    const unknownType = await stack.request('POST', `/v1/subscriptions/${id}/replay`, {
      ...aroundNow(),
      event_types: ['user.nope'],
    });
    expect(unknownType).toMatchObject({ status: 422, body: { error: { code: 'unknown_event_type' } } });
    const missing = await stack.request('POST', `/v1/subscriptions/${id}/replay`, { from: at(now) });
    expect(missing).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });
    const unknown = await stack.request('GET', '/v1/replays/rply_01JZZZZZZZZZZZZZZZZZZZZZZZ');
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'replay_not_found' } } });
  });
});

describe('over gRPC', () => {
  let grpc: any;
  beforeAll(() => (grpc = webhooksClient(stack.grpcAddress)));
  afterAll(() => grpc?.close());

  function call<T = any>(method: string, request: object): Promise<T> {
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${stack.apiKey}`);
    return new Promise((resolve, reject) =>
      grpc[method](request, metadata, (error: ServiceError | null, response: T) =>
        error ? reject(error) : resolve(response),
      ),
    );
  }

  it('resends a delivered delivery, replays a window and reads the replay back, as REST does', async () => {
    const receiver = TestReceiver.answering(200);
    const { tenantId, id } = await subscribeReceiver(stack, receiver);
    const { eventId, deliveries } = await publish(stack.client, tenantId);
    await deliveryIn(stack.client, deliveries[0].id, 'delivered');

    expect(await call('ResendDelivery', { id: deliveries[0].id })).toEqual({ id: deliveries[0].id, status: 'pending' });
    await eventually(() => stack.client.get(`/v1/deliveries/${deliveries[0].id}`), {
      timeout: 20_000,
      description: 'the resend delivered',
      until: (d: any) => d.status === 'delivered' && d.attempt_count === 2,
    });

    const replay = await call('ReplaySubscription', { subscription_id: id, ...aroundNow() });
    expect(replay).toMatchObject({ id: expect.stringMatching(/^rply_/), subscription_id: id, only_failed: false });
    expect(replay.not_replayed).toBeNull();
    await replaySettled(replay.id);
    expect(await call('GetReplay', { id: replay.id })).toMatchObject({ status: 'completed', matched: 1, delivered: 1 });
    expect(eventIdsOf(receiver)).toEqual([eventId, eventId, eventId]);

    const refused = await call('ReplaySubscription', {
      subscription_id: id,
      from: aroundNow().to,
      to: aroundNow().from,
    }).catch((error: ServiceError) => error);
    expect(refused.code).toBe(status.INVALID_ARGUMENT);
    expect(refused.metadata.get('error-code')).toEqual(['invalid_replay_window']);
  });
});

describe('the tenant quota on running replays', () => {
  let apiOnly: Stack;
  // No worker: a replay's job stays running, as a long one would.
  beforeAll(async () => {
    apiOnly = await startStack(ONE_ATTEMPT, {
      worker: false,
      config: { quotas: { ...stack.config.quotas, runningReplays: 1 } },
    });
  });
  afterAll(() => apiOnly?.stop());

  it('answers 422 quota_exceeded naming TENANT_MAX_RUNNING_REPLAYS once the tenant has that many running', async () => {
    const { id, tenantId } = await subscribeReceiver(apiOnly, TestReceiver.answering(200));
    expect((await apiOnly.request('POST', `/v1/subscriptions/${id}/replay`, aroundNow())).status).toBe(202);
    const second = await apiOnly.request('POST', `/v1/subscriptions/${id}/replay`, aroundNow());
    expect(second).toMatchObject({
      status: 422,
      body: { error: { code: 'quota_exceeded', details: { quota: 'running_replays', limit: 1 } } },
    });
    expect(second.body.error.message).toContain('TENANT_MAX_RUNNING_REPLAYS=1');
    // Another tenant is not held back.
    const other = await subscribeReceiver(apiOnly, TestReceiver.answering(200));
    expect(other.tenantId).not.toBe(tenantId);
    expect((await apiOnly.request('POST', `/v1/subscriptions/${other.id}/replay`, aroundNow())).status).toBe(202);
  });
});
