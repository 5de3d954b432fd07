import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'pg';
import { createDeliveryActivities } from '../../activities/delivery.activities';
import { ListenSessionsRepository } from '../../libs/db/listen-sessions.repository';
import { ListenHandoff } from '../../libs/outbound/listen-handoff';
import { WebhookSender } from '../../libs/outbound/webhook-sender';
import { newEventId, newSubscriptionId } from '../../libs/contracts/ids';
import { SubscriptionLimits } from '../../libs/contracts/throttle-policy';
import { AttemptsRepository, PermitRequest } from '../../libs/db/attempts.repository';
import { DeliveriesRepository } from '../../libs/db/deliveries.repository';
import { EventsRepository } from '../../libs/db/events.repository';
import { OutboxClaim, OutboxRepository } from '../../libs/db/outbox.repository';
import { createPool } from '../../libs/db/pool';
import { SubscriptionsRepository } from '../../libs/db/subscriptions.repository';
import { OutboundPolicy } from '../../libs/outbound/address-policy';
import { SecretBox } from '../../libs/secrets/secret-box';
import { OperationalEvents } from '../../libs/operational/operational-event-emitter';
import { generateSigningSecret } from '../../libs/signing/signing';
import { testDatabaseUrl, testMasterKeys, testPool, uniqueTenant } from '../helpers/database';
import { testAttemptSettings, testTokens } from '../helpers/attempt-settings';
import { TestReceiver } from '../helpers/receiver';

const NO_DEFAULT_LIMITS: SubscriptionLimits = { maxInFlight: 0, maxPerSecond: 0 };
const permit = (defaults: SubscriptionLimits = NO_DEFAULT_LIMITS, leaseMs = 60_000): PermitRequest => ({
  defaults,
  leaseMs,
  backoffMs: 250,
});

let pool: Pool;
/** A pool of its own per concurrent caller: every take below runs on a separate connection, as workers do. */
let wide: Pool;
let subscriptions: SubscriptionsRepository;
let deliveries: DeliveriesRepository;
let attempts: AttemptsRepository;
let wideAttempts: AttemptsRepository;
let events: EventsRepository;
let outbox: OutboxRepository;

beforeAll(() => {
  pool = testPool();
  wide = createPool(testDatabaseUrl(), 30);
  subscriptions = new SubscriptionsRepository(pool, SecretBox.parse(testMasterKeys()));
  deliveries = new DeliveriesRepository(pool);
  attempts = new AttemptsRepository(pool, subscriptions);
  wideAttempts = new AttemptsRepository(wide, subscriptions);
  events = new EventsRepository(pool);
  outbox = new OutboxRepository(pool);
});
afterAll(async () => {
  await wide.end();
  await pool.end();
});

/** A subscription with these limits and `count` deliveries to it. */
async function deliveriesTo(
  count: number,
  limits: { maxInFlight?: number; maxPerSecond?: number },
  url = 'http://127.0.0.1:9/hook',
) {
  const tenantId = uniqueTenant();
  const subscription = await subscriptions.create({
    id: newSubscriptionId(),
    tenantId,
    url,
    eventTypes: ['user.*'],
    description: null,
    signingSecret: generateSigningSecret(),
    ...limits,
  });
  const ids: string[] = [];
  for (let n = 0; n < count; n++) {
    const outcome = await events.publish(
      {
        event_id: newEventId(),
        event_type: 'user.updated',
        occurred_at: new Date().toISOString(),
        tenant: { id: tenantId },
        data: { user: { id: `usr_${n}` } },
      },
      `hash-${n}`,
    );
    if (outcome.kind !== 'created') throw new Error('expected a new event');
    ids.push(outcome.deliveries[0].id);
  }
  return { subscription, ids };
}

/** The attempt activity with no default limits: only the subscriptions' own apply. */
const limitedActivities = (sender: WebhookSender) =>
  createDeliveryActivities({
    attempts,
    sender,
    tokens: testTokens(sender, pool),
    disabler: { disable: async () => undefined } as never,
    operational: new OperationalEvents(events, subscriptions, 'tnt_platform'),
    failureDisableAfterMs: 0,
    listen: new ListenHandoff(new ListenSessionsRepository(pool)),
    ...testAttemptSettings(NO_DEFAULT_LIMITS),
  });

const statusOf = async (id: string) => (await deliveries.get(id, undefined))!;

describe('the subscription limiter in Postgres', () => {
  it('grants exactly max_in_flight permits to 30 attempts taken at once on 30 connections, and marks the others throttled', async () => {
    const { ids } = await deliveriesTo(30, { maxInFlight: 3 });
    const taken = await Promise.all(ids.map((id) => wideAttempts.attemptContext(id, permit())));
    const granted = ids.filter((_, n) => taken[n]!.throttledForMs === null);
    expect(granted).toHaveLength(3);
    for (const [n, id] of ids.entries()) {
      if (granted.includes(id)) continue;
      expect(taken[n]!.throttledForMs).toBe(250);
      const row = await statusOf(id);
      expect(row.status).toBe('throttled');
      expect(row.next_attempt_at).not.toBeNull();
    }

    // Recording an attempt gives its permit back: exactly one more attempt gets one.
    await attempts.recordAttempt({
      deliveryId: granted[0],
      attempt: 1,
      startedAt: new Date(),
      durationMs: 5,
      statusCode: 200,
      error: null,
      responseExcerpt: null,
      succeeded: true,
      tracksFailures: true,
    });
    const waiting = ids.filter((id) => !granted.includes(id));
    const again = await Promise.all(waiting.map((id) => wideAttempts.attemptContext(id, permit())));
    expect(again.filter((context) => context!.throttledForMs === null)).toHaveLength(1);
  });

  it('lets a retried attempt take its own permit again without counting it twice', async () => {
    const { ids } = await deliveriesTo(2, { maxInFlight: 1 });
    expect((await attempts.attemptContext(ids[0], permit()))!.throttledForMs).toBeNull();
    expect((await attempts.attemptContext(ids[0], permit()))!.throttledForMs).toBeNull();
    expect((await attempts.attemptContext(ids[1], permit()))!.throttledForMs).not.toBeNull();
  });

  it('frees the permit of a worker that died holding it once its lease ends', async () => {
    const { ids } = await deliveriesTo(2, { maxInFlight: 1 });
    expect((await attempts.attemptContext(ids[0], permit(NO_DEFAULT_LIMITS, 200)))!.throttledForMs).toBeNull();
    expect((await attempts.attemptContext(ids[1], permit()))!.throttledForMs).not.toBeNull();
    await sleep(300);
    expect((await attempts.attemptContext(ids[1], permit()))!.throttledForMs).toBeNull();
  });

  it('paces max_per_second: one start every 1/max_per_second s, a throttled one told to wait at least until the next', async () => {
    const { ids } = await deliveriesTo(3, { maxPerSecond: 2 });
    expect((await attempts.attemptContext(ids[0], permit()))!.throttledForMs).toBeNull();
    const second = await attempts.attemptContext(ids[1], { ...permit(), backoffMs: 1 });
    expect(second!.throttledForMs).toBeGreaterThan(300); // the next start is 500 ms after the first
    expect(second!.throttledForMs).toBeLessThanOrEqual(500);
    await sleep(second!.throttledForMs!);
    expect((await attempts.attemptContext(ids[1], permit()))!.throttledForMs).toBeNull();
    expect((await attempts.attemptContext(ids[2], permit()))!.throttledForMs).not.toBeNull();
  });

  it('applies the configured defaults to a subscription without limits of its own, and none when they are 0', async () => {
    const { ids } = await deliveriesTo(3, {});
    expect(
      (await attempts.attemptContext(ids[0], permit({ maxInFlight: 1, maxPerSecond: 0 })))!.throttledForMs,
    ).toBeNull();
    expect(
      (await attempts.attemptContext(ids[1], permit({ maxInFlight: 1, maxPerSecond: 0 })))!.throttledForMs,
    ).not.toBeNull();
    expect((await attempts.attemptContext(ids[2], permit(NO_DEFAULT_LIMITS)))!.throttledForMs).toBeNull();
  });

  it('takes no permit for an attempt that will not send: a disabled subscription stops it instead', async () => {
    const { subscription, ids } = await deliveriesTo(2, { maxInFlight: 1 });
    await subscriptions.setEnabled(subscription.id, undefined, false, 'test');
    const sender = new WebhookSender({ policy: new OutboundPolicy([]) });
    const { attemptDelivery } = limitedActivities(sender);
    const deadline = new Date(Date.now() + 60_000).toISOString();
    for (const id of ids) {
      expect(await attemptDelivery({ deliveryId: id, attempt: 1, attemptTimeoutMs: 1000, deadline })).toEqual({
        kind: 'stopped',
        reason: 'subscription_disabled',
      });
    }
    await sender.close();
  });
});

describe('attemptDelivery under the limits', () => {
  it('answers throttled without sending or recording an attempt, and sends once the permit is back', async () => {
    const receiver = new TestReceiver(() => ({ status: 200 }));
    const url = await receiver.start();
    const sender = new WebhookSender({ policy: new OutboundPolicy(['127.0.0.1/32']) });
    try {
      const { ids } = await deliveriesTo(2, { maxInFlight: 1 }, url);
      const { attemptDelivery } = limitedActivities(sender);
      const deadline = new Date(Date.now() + 60_000).toISOString();
      // The first delivery's permit, held as by an attempt in flight on another worker.
      expect((await attempts.attemptContext(ids[0], permit()))!.throttledForMs).toBeNull();

      const outcome = await attemptDelivery({
        deliveryId: ids[1],
        attempt: 1,
        attemptTimeoutMs: 1000,
        deadline,
        throttledTimes: 3,
      });
      expect(outcome).toMatchObject({ kind: 'throttled' });
      // Third refusal in a row: between 400 and 800 ms.
      expect((outcome as { retryInMs: number }).retryInMs).toBeGreaterThanOrEqual(400);
      expect((outcome as { retryInMs: number }).retryInMs).toBeLessThanOrEqual(800);
      expect(receiver.requests).toHaveLength(0);
      expect(await deliveries.attempts(ids[1])).toEqual([]);
      expect(await statusOf(ids[1])).toMatchObject({ status: 'throttled', attempt_count: 0 });

      expect(await attemptDelivery({ deliveryId: ids[0], attempt: 1, attemptTimeoutMs: 1000, deadline })).toMatchObject(
        { kind: 'delivered' },
      );
      expect(await attemptDelivery({ deliveryId: ids[1], attempt: 1, attemptTimeoutMs: 1000, deadline })).toMatchObject(
        { kind: 'delivered' },
      );
      expect(receiver.requests).toHaveLength(2);
      expect(await statusOf(ids[1])).toMatchObject({ status: 'delivered', attempt_count: 1 });
    } finally {
      await sender.close();
      await receiver.stop();
    }
  });

  it("queues this worker's attempts beyond max_in_flight instead of having Postgres refuse them", async () => {
    const receiver = new TestReceiver(() => ({ status: 200, delayMs: 100 }));
    const url = await receiver.start();
    const sender = new WebhookSender({ policy: new OutboundPolicy(['127.0.0.1/32']) });
    try {
      const { subscription, ids } = await deliveriesTo(13, { maxInFlight: 2 }, url);
      const { attemptDelivery } = limitedActivities(sender);
      const deadline = new Date(Date.now() + 60_000).toISOString();
      const attempt = (deliveryId: string) =>
        attemptDelivery({ deliveryId, attempt: 1, attemptTimeoutMs: 1000, deadline, subscriptionId: subscription.id });
      // The first attempt teaches the worker the subscription's limit.
      expect(await attempt(ids[0])).toMatchObject({ kind: 'delivered' });

      const outcomes = await Promise.all(ids.slice(1).map(attempt));
      expect(outcomes.map((outcome) => outcome.kind)).toEqual(Array(12).fill('delivered'));
      expect(receiver.requests).toHaveLength(13);
      expect(receiver.peakInFlight).toBe(2);
    } finally {
      await sender.close();
      await receiver.stop();
    }
  });
});

describe('admission in the outbox', () => {
  const LEASE_MS = 30_000;
  /** Of a claim's rows, these deliveries', in claim order. */
  const claimedOf = (claim: OutboxClaim, ids: string[]) =>
    claim.rows.map((row) => row.id).filter((id) => ids.includes(id));

  // The outbox holds only each test's own rows: the deliveries the tests above left unstarted are taken out of it.
  beforeEach(async () => {
    await pool.query(`UPDATE deliveries SET workflow_started_at = now() WHERE workflow_started_at IS NULL`);
  });

  it("claims a max_in_flight 1 subscription's oldest delivery only, whose first attempt keeps the permit, then the next once it is given back", async () => {
    const receiver = new TestReceiver(() => ({ status: 200 }));
    const url = await receiver.start();
    const sender = new WebhookSender({ policy: new OutboundPolicy(['127.0.0.1/32']) });
    try {
      const { subscription, ids } = await deliveriesTo(3, { maxInFlight: 1 }, url);
      const first = await outbox.claim(100, LEASE_MS, NO_DEFAULT_LIMITS);
      expect(claimedOf(first, ids)).toEqual([ids[0]]);
      expect(first.heldBack).toBe(true);
      expect(claimedOf(await outbox.claim(100, LEASE_MS, NO_DEFAULT_LIMITS), ids)).toEqual([]);
      // An attempt of another run (as a retry would) finds the room taken by the admitted delivery.
      expect((await attempts.attemptContext(ids[2], permit()))!.throttledForMs).not.toBeNull();

      const { attemptDelivery } = limitedActivities(sender);
      const deadline = new Date(Date.now() + 60_000).toISOString();
      expect(
        await attemptDelivery({
          deliveryId: ids[0],
          attempt: 1,
          attemptTimeoutMs: 1000,
          deadline,
          subscriptionId: subscription.id,
        }),
      ).toMatchObject({ kind: 'delivered' });

      expect(claimedOf(await outbox.claim(100, LEASE_MS, NO_DEFAULT_LIMITS), ids)).toEqual([ids[1]]);
    } finally {
      await sender.close();
      await receiver.stop();
    }
  });

  it('judges a subscription without limits of its own by the defaults, and claims all of one without any', async () => {
    const limited = await deliveriesTo(3, {});
    const claim = await outbox.claim(100, LEASE_MS, { maxInFlight: 2, maxPerSecond: 0 });
    expect(claimedOf(claim, limited.ids)).toEqual(limited.ids.slice(0, 2));
    const unlimited = await deliveriesTo(3, {});
    expect(claimedOf(await outbox.claim(100, LEASE_MS, NO_DEFAULT_LIMITS), unlimited.ids)).toEqual(unlimited.ids);
  });

  it("takes turns across subscriptions: one's backlog does not hold back the first rows of another published after it", async () => {
    const busy = await deliveriesTo(12, {});
    const other = await deliveriesTo(2, {});
    const claim = await outbox.claim(4, LEASE_MS, NO_DEFAULT_LIMITS);
    expect(claim.rows.map((row) => row.id)).toEqual([busy.ids[0], busy.ids[1], other.ids[0], other.ids[1]]);
  });

  it('gives a window smaller than the subscriptions waiting one row of each in turn, the oldest turns first', async () => {
    const waiting = [];
    for (let n = 0; n < 5; n++) waiting.push(await deliveriesTo(3, {}));
    const claim = await outbox.claim(3, LEASE_MS, NO_DEFAULT_LIMITS);
    expect(claim.rows.map((row) => row.id)).toEqual(waiting.slice(0, 3).map(({ ids }) => ids[0]));
    // Each subscription's next claimable row is its turn now: the first three's second rows are older than the
    // last two's first.
    const next = await outbox.claim(4, LEASE_MS, NO_DEFAULT_LIMITS);
    expect(next.rows.map((row) => row.id)).toEqual([
      waiting[0].ids[1],
      waiting[1].ids[1],
      waiting[2].ids[1],
      waiting[3].ids[0],
    ]);
  });

  it("reads past a subscription's rows that another claim holds to its next ones", async () => {
    const { ids } = await deliveriesTo(6, {});
    expect(claimedOf(await outbox.claim(2, LEASE_MS, NO_DEFAULT_LIMITS), ids)).toEqual(ids.slice(0, 2));
    expect(claimedOf(await outbox.claim(2, LEASE_MS, NO_DEFAULT_LIMITS), ids)).toEqual(ids.slice(2, 4));
    await outbox.release([ids[1]]);
    expect(claimedOf(await outbox.claim(2, LEASE_MS, NO_DEFAULT_LIMITS), ids)).toEqual([ids[1], ids[4]]);
  });

  it('keeps an admitted permit that outlasts the attempt without rewriting the limiter row, and renews one that would lapse during it', async () => {
    const { subscription, ids } = await deliveriesTo(2, { maxInFlight: 2 });
    expect(claimedOf(await outbox.claim(100, LEASE_MS, NO_DEFAULT_LIMITS), ids)).toEqual(ids);
    const limiterRow = async () =>
      (
        await pool.query<{ version: string; holders: Record<string, string> }>(
          `SELECT xmin::text AS version, holders FROM subscription_limiters WHERE subscription_id = $1::text`,
          [subscription.id],
        )
      ).rows[0];
    const admitted = await limiterRow();

    const within = (await attempts.attemptContext(ids[0], permit(NO_DEFAULT_LIMITS, LEASE_MS / 2)))!;
    expect({ throttledForMs: within.throttledForMs, holdsPermit: within.holdsPermit }).toEqual({
      throttledForMs: null,
      holdsPermit: true,
    });
    expect(await limiterRow()).toEqual(admitted);

    const beyond = (await attempts.attemptContext(ids[1], permit(NO_DEFAULT_LIMITS, LEASE_MS * 2)))!;
    expect(beyond.holdsPermit).toBe(true);
    const renewed = await limiterRow();
    expect(renewed.version).not.toBe(admitted.version);
    expect(Number(renewed.holders[ids[1]])).toBeGreaterThan(Number(admitted.holders[ids[1]]));
    expect(renewed.holders[ids[0]]).toBe(admitted.holders[ids[0]]);
  });

  it('leaves max_per_second to the attempt: admitted by in-flight room alone, the first attempt is paced as any', async () => {
    const { ids } = await deliveriesTo(2, { maxPerSecond: 2 });
    const claim = await outbox.claim(100, LEASE_MS, NO_DEFAULT_LIMITS);
    expect(claimedOf(claim, ids)).toEqual(ids);
    expect(claim.heldBack).toBe(false);
    expect((await attempts.attemptContext(ids[0], permit()))!.throttledForMs).toBeNull();
    expect((await attempts.attemptContext(ids[1], permit()))!.throttledForMs).not.toBeNull();
  });

  it('gives the permit of a row whose start failed back with the row, and lets a lapsed claim take it again', async () => {
    const { ids } = await deliveriesTo(2, { maxInFlight: 1 });
    expect(claimedOf(await outbox.claim(100, LEASE_MS, NO_DEFAULT_LIMITS), ids)).toEqual([ids[0]]);
    await outbox.release([ids[0]]);
    expect(claimedOf(await outbox.claim(100, 200, NO_DEFAULT_LIMITS), ids)).toEqual([ids[0]]);
    // A relay that died after its claim: the claim and its permit lapse together.
    await sleep(300);
    expect(claimedOf(await outbox.claim(100, LEASE_MS, NO_DEFAULT_LIMITS), ids)).toEqual([ids[0]]);
  });
});
