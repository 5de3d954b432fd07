import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'pg';
import { Webhook } from 'standardwebhooks';
import { gzipSync } from 'node:zlib';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ATTEMPT_TRIES, createDeliveryActivities, DeliveryActivities } from '../../activities/delivery.activities';
import { ListenSessionsRepository } from '../../libs/db/listen-sessions.repository';
import { ListenHandoff } from '../../libs/outbound/listen-handoff';
import { WebhookSender } from '../../libs/outbound/webhook-sender';
import { StoredEvent } from '../../libs/contracts/envelope';
import { newEventId, newSubscriptionId } from '../../libs/contracts/ids';
import { AttemptRecord, AttemptsRepository } from '../../libs/db/attempts.repository';
import { DeliveriesRepository } from '../../libs/db/deliveries.repository';
import { EventsRepository } from '../../libs/db/events.repository';
import { SubscriptionsRepository } from '../../libs/db/subscriptions.repository';
import { generateSigningSecret } from '../../libs/signing/signing';
import { SecretBox } from '../../libs/secrets/secret-box';
import { Client } from '@temporalio/client';
import { DEFAULT_DELIVERY_POLICY } from '../../libs/contracts/delivery-policy';
import { OperatorActionsRepository } from '../../libs/db/operator-actions.repository';
import { OperationalEvents } from '../../libs/operational/operational-event-emitter';
import { OnDemandTemporalClient } from '../../libs/temporal/client';
import { OutboxRepository } from '../../libs/db/outbox.repository';
import { DeliverySignals } from '../../libs/temporal/delivery-signals';
import { SubscriptionDisabler } from '../../libs/temporal/subscription-disabler';
import { OutboundPolicy } from '../../libs/outbound/address-policy';
import { testMasterKeys, testPool, uniqueTenant } from '../helpers/database';
import { freePort } from '../../tools/embedded/free-port';
import { TestReceiver } from '../helpers/receiver';
import { testAttemptSettings, testTokens } from '../helpers/attempt-settings';

let pool: Pool;
let subscriptions: SubscriptionsRepository;
let events: EventsRepository;
let deliveries: DeliveriesRepository;
let attempts: AttemptsRepository;
let sender: WebhookSender;
let activities: DeliveryActivities;
/** The same activities with the default failure window (5 days), which the tests move failing_since back across. */
let failDisabling: DeliveryActivities;
let temporal: Client;
let disabler: SubscriptionDisabler;
let operational: OperationalEvents;
const receivers: TestReceiver[] = [];
const FIVE_DAYS_MS = 5 * 86_400_000;

beforeAll(async () => {
  pool = testPool();
  subscriptions = new SubscriptionsRepository(pool, SecretBox.parse(testMasterKeys()));
  events = new EventsRepository(pool);
  deliveries = new DeliveriesRepository(pool);
  attempts = new AttemptsRepository(pool, subscriptions);
  // The receivers here live on 127.0.0.1, which the SSRF guard refuses unless allowlisted.
  sender = new WebhookSender({ policy: new OutboundPolicy(['127.0.0.1/32']) });
  const temporalClient = new OnDemandTemporalClient(process.env.TEST_TEMPORAL_ADDRESS!, 'default');
  temporal = await temporalClient.get();
  const signals = new DeliverySignals({
    client: temporalClient,
    taskQueue: 'attempt-activity-test',
    policy: DEFAULT_DELIVERY_POLICY,
    deliveries,
    outbox: new OutboxRepository(pool),
  });
  operational = new OperationalEvents(events, subscriptions, 'tnt_platform');
  disabler = new SubscriptionDisabler(subscriptions, signals, new OperatorActionsRepository(pool), operational);
  activities = createDeliveryActivities({
    attempts,
    sender,
    tokens: testTokens(sender, pool),
    disabler,
    operational,
    failureDisableAfterMs: 0,
    listen: new ListenHandoff(new ListenSessionsRepository(pool)),
    ...testAttemptSettings(),
  });
  failDisabling = createDeliveryActivities({
    attempts,
    sender,
    tokens: testTokens(sender, pool),
    disabler,
    operational,
    failureDisableAfterMs: FIVE_DAYS_MS,
    listen: new ListenHandoff(new ListenSessionsRepository(pool)),
    ...testAttemptSettings(),
  });
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.stop()));
  await sender.close();
  await temporal.connection.close();
  await pool.end();
});

async function receiver(r: TestReceiver): Promise<string> {
  receivers.push(r);
  return r.start();
}

/** A subscription to `url` and one published event, through the real repositories; returns the delivery. */
async function deliveryTo(url: string, eventType: StoredEvent['event_type'] = 'user.signed_up') {
  const tenantId = uniqueTenant();
  const secret = generateSigningSecret();
  const subscription = await subscriptions.create({
    id: newSubscriptionId(),
    tenantId,
    url,
    eventTypes: ['user.*', 'webhook.*'],
    description: null,
    signingSecret: secret,
  });
  const event: StoredEvent = {
    event_id: newEventId(),
    event_type: eventType,
    occurred_at: new Date().toISOString(),
    tenant: { id: tenantId, slug: 'acme' },
    actor: { kind: 'user', id: 'usr_1', email: 'anita@example.com' },
    data: { user: { id: 'usr_1', name: 'Anita Singh' } },
  };
  const outcome = await events.publish(event, 'hash');
  if (outcome.kind !== 'created') throw new Error('expected a new event');
  return { deliveryId: outcome.deliveries[0].id, subscription, secret, event };
}

const attempt = (deliveryId: string, number = 1, attemptTimeoutMs = 10_000) =>
  activities.attemptDelivery({
    deliveryId,
    attempt: number,
    attemptTimeoutMs,
    deadline: new Date(Date.now() + 3_600_000).toISOString(),
  });

describe('attemptDelivery against real receivers on 127.0.0.1', () => {
  it('delivers on a 2xx with the product contract body and both signatures, verified independently', async () => {
    const r = new TestReceiver(() => ({ status: 204 }));
    const { deliveryId, subscription, secret, event } = await deliveryTo(await receiver(r));

    expect(await attempt(deliveryId, 1)).toEqual({ kind: 'delivered', statusCode: 204, error: null });

    expect(r.requests).toHaveLength(1);
    const [request] = r.requests;
    expect(request.method).toBe('POST');
    expect(JSON.parse(request.body)).toEqual({ ...event, delivery: { attempt: 1, subscription_id: subscription.id } });
    expect(Object.keys(JSON.parse(request.body))).toEqual([
      'event_id',
      'event_type',
      'occurred_at',
      'tenant',
      'actor',
      'data',
      'delivery',
    ]);
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['x-intelliauth-event-id']).toBe(event.event_id);
    expect(request.headers['x-intelliauth-event-type']).toBe('user.signed_up');
    expect(request.headers['x-intelliauth-delivery-attempt']).toBe('1');
    expect(Math.abs(Number(request.headers['x-intelliauth-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    expect(request.headers['x-intelliauth-signature']).toBe(
      createHmac('sha256', key).update(request.body).digest('hex'),
    );
    expect(new Webhook(secret).verify(request.body, request.headers as Record<string, string>)).toEqual(
      JSON.parse(request.body),
    );

    const stored = await deliveries.get(deliveryId, undefined);
    expect(stored).toMatchObject({ status: 'delivered', attempt_count: 1, last_status_code: 204 });
    expect(await deliveries.attempts(deliveryId)).toEqual([
      expect.objectContaining({ attempt: 1, status_code: 204, succeeded: true, error: null }),
    ]);
  });

  it('fails on a 500 and keeps a short excerpt of the answer', async () => {
    const r = new TestReceiver(() => ({ status: 500, body: `boom ${'x'.repeat(5000)}` }));
    const { deliveryId } = await deliveryTo(await receiver(r));
    expect(await attempt(deliveryId, 1)).toEqual({
      kind: 'failed',
      statusCode: 500,
      error: 'receiver answered 500',
      retryAfterMs: null,
    });
    const [recorded] = await deliveries.attempts(deliveryId);
    expect(recorded).toMatchObject({ succeeded: false, status_code: 500 });
    expect(recorded.response_excerpt!.startsWith('boom x')).toBe(true);
    expect(recorded.response_excerpt!.length).toBeLessThanOrEqual(1024);
  });

  it('fails at about 10 s when the receiver answers after 11 s', async () => {
    const r = new TestReceiver(() => ({ status: 200, delayMs: 11_000 }));
    const { deliveryId } = await deliveryTo(await receiver(r));
    const started = Date.now();
    expect(await attempt(deliveryId, 1, 10_000)).toEqual({
      kind: 'failed',
      statusCode: null,
      error: 'no complete response within 10000 ms',
      retryAfterMs: null,
    });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(9_900);
    expect(took).toBeLessThan(10_900);
    const [recorded] = await deliveries.attempts(deliveryId);
    expect(recorded.duration_ms).toBeGreaterThanOrEqual(9_900);
  }, 30_000);

  it('fails when the connection is refused', async () => {
    const { deliveryId } = await deliveryTo(`http://127.0.0.1:${await freePort()}/hook`);
    expect(await attempt(deliveryId, 1)).toEqual({
      kind: 'failed',
      statusCode: null,
      error: 'connection refused',
      retryAfterMs: null,
    });
  });

  it('never follows a 302: a failed attempt, and the target receives nothing', async () => {
    const target = new TestReceiver();
    const targetUrl = await receiver(target);
    const r = new TestReceiver(() => ({ status: 302, headers: { location: targetUrl } }));
    const { deliveryId } = await deliveryTo(await receiver(r));
    const outcome = await attempt(deliveryId, 1);
    expect(outcome).toEqual({
      kind: 'failed',
      statusCode: 302,
      error: `redirect (302 to ${targetUrl}) not followed`,
      retryAfterMs: null,
    });
    await sleep(300);
    expect(target.requests).toHaveLength(0);
  });

  it('passes on a 429’s or 503’s Retry-After, in seconds or as an HTTP date', async () => {
    const seconds = new TestReceiver(() => ({ status: 429, headers: { 'retry-after': '120' } }));
    expect(await attempt((await deliveryTo(await receiver(seconds))).deliveryId)).toMatchObject({
      kind: 'failed',
      statusCode: 429,
      retryAfterMs: 120_000,
    });
    const date = new TestReceiver(() => ({
      status: 503,
      headers: { 'retry-after': new Date(Date.now() + 600_000).toUTCString() },
    }));
    const outcome = await attempt((await deliveryTo(await receiver(date))).deliveryId);
    expect(outcome).toMatchObject({ kind: 'failed', statusCode: 503 });
    expect((outcome as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(590_000);
    const ignored = new TestReceiver(() => ({ status: 500, headers: { 'retry-after': '120' } }));
    expect(await attempt((await deliveryTo(await receiver(ignored))).deliveryId)).toMatchObject({
      kind: 'failed',
      statusCode: 500,
      retryAfterMs: null,
    });
  });

  it('disables the subscription on 410 Gone, with the reason recorded and visible to operators', async () => {
    const r = new TestReceiver(() => ({ status: 410 }));
    const { deliveryId, subscription } = await deliveryTo(await receiver(r));
    expect(await attempt(deliveryId)).toEqual({ kind: 'stopped', reason: 'subscription_disabled' });
    expect(await subscriptions.get(subscription.id, undefined)).toMatchObject({
      enabled: false,
      disabled_reason: 'receiver answered 410 Gone',
    });
    expect(await deliveries.attempts(deliveryId)).toEqual([
      expect.objectContaining({ status_code: 410, succeeded: false }),
    ]);
    const audit = await new OperatorActionsRepository(pool).list({ targetId: subscription.id }, undefined, 10);
    expect(audit.data).toEqual([
      expect.objectContaining({
        action: 'subscription.disable',
        actor: 'receiver',
        details: expect.objectContaining({ reason: 'receiver answered 410 Gone' }),
      }),
    ]);
  });

  it('records a retried attempt once (the activity ran twice for the same attempt number)', async () => {
    const r = TestReceiver.answering(500, 200);
    const { deliveryId } = await deliveryTo(await receiver(r));
    await attempt(deliveryId, 1);
    await attempt(deliveryId, 1);
    const rows = await deliveries.attempts(deliveryId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ attempt: 1, status_code: 200, succeeded: true });
  });

  it('does not send again once the delivery is recorded as delivered', async () => {
    const r = TestReceiver.answering(200);
    const { deliveryId } = await deliveryTo(await receiver(r));
    await attempt(deliveryId, 1);
    expect(await attempt(deliveryId, 2)).toEqual({ kind: 'delivered', statusCode: null, error: null });
    expect(r.requests).toHaveLength(1);
  });

  it('stops without sending when the subscription was disabled or deleted, or the deadline passed', async () => {
    const r = TestReceiver.answering(200);
    const url = await receiver(r);
    const disabled = await deliveryTo(url);
    await subscriptions.setEnabled(disabled.subscription.id, undefined, false, 'disabled_by_operator');
    expect(await attempt(disabled.deliveryId)).toEqual({ kind: 'stopped', reason: 'subscription_disabled' });
    const deleted = await deliveryTo(url);
    await subscriptions.softDelete(deleted.subscription.id, undefined);
    expect(await attempt(deleted.deliveryId)).toEqual({ kind: 'stopped', reason: 'subscription_deleted' });
    const late = await deliveryTo(url);
    const expired = await activities.attemptDelivery({
      deliveryId: late.deliveryId,
      attempt: 1,
      attemptTimeoutMs: 10_000,
      deadline: new Date(Date.now() - 1).toISOString(),
    });
    expect(expired).toEqual({ kind: 'stopped', reason: 'expired' });
    expect(r.requests).toHaveLength(0);
  });

  it('sends the subscription’s current URL, not the one it had at publish time', async () => {
    const before = new TestReceiver();
    const after = new TestReceiver();
    const { deliveryId, subscription } = await deliveryTo(await receiver(before));
    await subscriptions.update(subscription.id, undefined, { url: await receiver(after) });
    await attempt(deliveryId);
    expect(before.requests).toHaveLength(0);
    expect(after.requests).toHaveLength(1);
  });
});

/** The attempt activities over the real repository, with some of its calls replaced: an infrastructure fault. */
function activitiesWith(faults: Partial<Pick<AttemptsRepository, 'attemptContext' | 'recordAttempt'>>) {
  const faulty = Object.assign(Object.create(attempts) as AttemptsRepository, faults);
  return createDeliveryActivities({
    attempts: faulty,
    sender,
    tokens: testTokens(sender, pool),
    disabler,
    operational,
    failureDisableAfterMs: 0,
    listen: new ListenHandoff(new ListenSessionsRepository(pool)),
    ...testAttemptSettings(),
  });
}

/** An error as pg reports a connection that ended: Postgres restarting, a network cut. */
const connectionLost = () => new Error('Connection terminated unexpectedly');

const attemptInput = (deliveryId: string) => ({
  deliveryId,
  attempt: 1,
  attemptTimeoutMs: 10_000,
  deadline: new Date(Date.now() + 3_600_000).toISOString(),
});

describe('answers that cannot be stored as they came, and records that fail: one POST per attempt', () => {
  it('delivers once on a 200 whose body holds a NUL, and keeps a readable excerpt', async () => {
    const r = new TestReceiver(() => ({ status: 200, body: 'ok\0 done' }));
    const { deliveryId } = await deliveryTo(await receiver(r));
    expect(await attempt(deliveryId)).toEqual({ kind: 'delivered', statusCode: 200, error: null });
    expect(r.requests).toHaveLength(1);
    const [recorded] = await deliveries.attempts(deliveryId);
    expect(recorded).toMatchObject({ succeeded: true, response_excerpt: 'ok\uFFFD done' });
  });

  it('summarises a gzip answer and a binary one instead of storing their bytes', async () => {
    const gzip = new TestReceiver(() => ({
      status: 200,
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify({ received: true })),
    }));
    const zipped = await deliveryTo(await receiver(gzip));
    expect(await attempt(zipped.deliveryId)).toMatchObject({ kind: 'delivered' });
    const [gzipRow] = await deliveries.attempts(zipped.deliveryId);
    expect(gzipRow.response_excerpt).toMatch(
      /^\[binary body: \d+ bytes, content-type application\/json, content-encoding gzip\]$/,
    );

    const bytes = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x80, 0x81]);
    const binary = new TestReceiver(() => ({ status: 500, body: bytes }));
    const failed = await deliveryTo(await receiver(binary));
    expect(await attempt(failed.deliveryId)).toMatchObject({ kind: 'failed', statusCode: 500 });
    const [binaryRow] = await deliveries.attempts(failed.deliveryId);
    expect(binaryRow.response_excerpt).toBe(`[binary body: ${bytes.length} bytes]`);
    expect(gzip.requests).toHaveLength(1);
    expect(binary.requests).toHaveLength(1);
  });

  it('records an answer Postgres refuses as a value without it, and does not send again', async () => {
    const r = TestReceiver.answering(200);
    const { deliveryId } = await deliveryTo(await receiver(r));
    let calls = 0;
    // The first record carries a NUL, which the real Postgres refuses (SQLSTATE 22P05).
    const refusing = activitiesWith({
      recordAttempt: (record: AttemptRecord) =>
        attempts.recordAttempt(calls++ === 0 ? { ...record, responseExcerpt: 'ok\0' } : record),
    });
    expect(await refusing.attemptDelivery(attemptInput(deliveryId))).toMatchObject({ kind: 'delivered' });
    expect(r.requests).toHaveLength(1);
    const [recorded] = await deliveries.attempts(deliveryId);
    expect(recorded.succeeded).toBe(true);
    expect(recorded.response_excerpt).toMatch(/^\[the answer could not be stored: /);
  });

  it('records on the retry, without a second POST, an attempt whose record found Postgres out of reach', async () => {
    const r = TestReceiver.answering(500, 200);
    const { deliveryId } = await deliveryTo(await receiver(r));
    let failures = 1;
    const flaky = activitiesWith({
      recordAttempt: (record: AttemptRecord) =>
        failures-- > 0 ? Promise.reject(connectionLost()) : attempts.recordAttempt(record),
    });
    await expect(flaky.attemptDelivery(attemptInput(deliveryId))).rejects.toThrow('Connection terminated');
    expect(await flaky.attemptDelivery(attemptInput(deliveryId))).toMatchObject({ kind: 'failed', statusCode: 500 });
    expect(r.requests).toHaveLength(1);
    expect(await deliveries.attempts(deliveryId)).toEqual([
      expect.objectContaining({ attempt: 1, status_code: 500, succeeded: false }),
    ]);
  });

  it(`retries another error ${ATTEMPT_TRIES} times, then counts it as the attempt's failure; Postgres out of reach it retries on`, async () => {
    const r = TestReceiver.answering(200);
    const { deliveryId } = await deliveryTo(await receiver(r));
    const broken = activitiesWith({ attemptContext: () => Promise.reject(new TypeError('no such thing')) });
    const lastTry = new MockActivityEnvironment({ attempt: ATTEMPT_TRIES });
    await expect(
      new MockActivityEnvironment({ attempt: ATTEMPT_TRIES - 1 }).run(broken.attemptDelivery, attemptInput(deliveryId)),
    ).rejects.toThrow('no such thing');
    expect(await lastTry.run(broken.attemptDelivery, attemptInput(deliveryId))).toEqual({
      kind: 'failed',
      statusCode: null,
      error: 'attempt could not be completed: no such thing',
      retryAfterMs: null,
    });
    const unreachable = activitiesWith({ attemptContext: () => Promise.reject(connectionLost()) });
    await expect(lastTry.run(unreachable.attemptDelivery, attemptInput(deliveryId))).rejects.toThrow(
      'Connection terminated',
    );
    expect(r.requests).toHaveLength(0);
  });
});

describe('failure tracking', () => {
  const failingSince = async (subscriptionId: string): Promise<Date | null> =>
    (await pool.query(`SELECT failing_since FROM subscriptions WHERE id = $1`, [subscriptionId])).rows[0].failing_since;
  const eventExists = async (eventId: string) =>
    (await pool.query(`SELECT 1 FROM events WHERE id = $1`, [eventId])).rowCount === 1;
  const failAttempt = (deliveryId: string, number: number) =>
    failDisabling.attemptDelivery({
      deliveryId,
      attempt: number,
      attemptTimeoutMs: 10_000,
      deadline: new Date(Date.now() + 3_600_000).toISOString(),
    });

  it('starts a run of failures at the first failed attempt, keeps it, and ends it at a success with webhook.subscription.recovered', async () => {
    const r = TestReceiver.answering(500, 500, 200);
    const { deliveryId, subscription } = await deliveryTo(await receiver(r));
    await failAttempt(deliveryId, 1);
    const since = await failingSince(subscription.id);
    expect(since).toEqual((await deliveries.attempts(deliveryId))[0].started_at);
    await failAttempt(deliveryId, 2);
    expect(await failingSince(subscription.id)).toEqual(since);
    expect(await failAttempt(deliveryId, 3)).toMatchObject({ kind: 'delivered' });
    expect(await failingSince(subscription.id)).toBeNull();
    expect(await eventExists(`evt_wh_recovered_${subscription.id}_${since!.getTime()}`)).toBe(true);
  });

  it('disables a subscription whose run of failures has lasted the window, as failing, through the disabler', async () => {
    const r = TestReceiver.answering(500);
    const { deliveryId, subscription } = await deliveryTo(await receiver(r));
    expect(await failAttempt(deliveryId, 1)).toMatchObject({ kind: 'failed' });
    const longAgo = new Date(Date.now() - FIVE_DAYS_MS);
    await pool.query(`UPDATE subscriptions SET failing_since = $2 WHERE id = $1`, [subscription.id, longAgo]);
    expect(await failAttempt(deliveryId, 2)).toEqual({ kind: 'stopped', reason: 'subscription_disabled' });
    const reason = 'failing';
    expect(await subscriptions.get(subscription.id, undefined)).toMatchObject({
      enabled: false,
      disabled_reason: reason,
    });
    const audit = await new OperatorActionsRepository(pool).list({ targetId: subscription.id }, undefined, 10);
    expect(audit.data).toEqual([
      expect.objectContaining({
        action: 'subscription.disable',
        actor: 'system',
        details: expect.objectContaining({ reason }),
      }),
    ]);
    expect(await eventExists(`evt_wh_disabled_${subscription.id}_${longAgo.getTime()}`)).toBe(true);
    // Enabling again starts a fresh window.
    await subscriptions.setEnabled(subscription.id, undefined, true, null);
    expect(await failingSince(subscription.id)).toBeNull();
  });

  it('leaves the deliveries of operational events out: their failures start no run, even past the window', async () => {
    const r = TestReceiver.answering(500);
    const { deliveryId, subscription } = await deliveryTo(await receiver(r), 'webhook.subscription.disabled');
    expect(await failAttempt(deliveryId, 1)).toMatchObject({ kind: 'failed', statusCode: 500 });
    expect(await failingSince(subscription.id)).toBeNull();
    await pool.query(`UPDATE subscriptions SET failing_since = $2 WHERE id = $1`, [
      subscription.id,
      new Date(Date.now() - FIVE_DAYS_MS),
    ]);
    expect(await failAttempt(deliveryId, 2)).toMatchObject({ kind: 'failed' });
    expect((await subscriptions.get(subscription.id, undefined))!.enabled).toBe(true);
  });
});
