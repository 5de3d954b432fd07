import fc from 'fast-check';
import { Pool } from 'pg';
import { newEventId } from '../../libs/contracts/ids';
import { SubscriptionLimits } from '../../libs/contracts/throttle-policy';
import { AttemptsRepository } from '../../libs/db/attempts.repository';
import { EventsRepository } from '../../libs/db/events.repository';
import { OrderingHeadsRepository } from '../../libs/db/ordering-heads';
import { OutboxRepository } from '../../libs/db/outbox.repository';
import { createPool } from '../../libs/db/pool';
import { SubscriptionsRepository } from '../../libs/db/subscriptions.repository';
import { SecretBox } from '../../libs/secrets/secret-box';
import { newSubscriptionRow, testDatabaseUrl, testMasterKeys, testPool, uniqueTenant } from '../helpers/database';
import { assertProperty } from '../property/support';

const NO_LIMITS: SubscriptionLimits = { maxInFlight: 0, maxPerSecond: 0 };
const LEASE_MS = 30_000;

let pool: Pool;
/** One connection per concurrent relay below, as workers have. */
let wide: Pool;
let subscriptions: SubscriptionsRepository;
let attempts: AttemptsRepository;
let events: EventsRepository;
let outbox: OutboxRepository;
let heads: OrderingHeadsRepository;

beforeAll(() => {
  pool = testPool();
  wide = createPool(testDatabaseUrl(), 8);
  subscriptions = new SubscriptionsRepository(pool, SecretBox.parse(testMasterKeys()));
  attempts = new AttemptsRepository(pool, subscriptions);
  events = new EventsRepository(pool);
  outbox = new OutboxRepository(pool);
  heads = new OrderingHeadsRepository(pool);
});
afterAll(async () => {
  await wide.end();
  await pool.end();
});

// The outbox holds only each test's own rows: whatever earlier tests left unstarted is taken out of it.
beforeEach(async () => {
  await pool.query(`UPDATE deliveries SET workflow_started_at = now() WHERE workflow_started_at IS NULL`);
});

async function subscription(ordering: 'none' | 'per_entity') {
  const tenantId = uniqueTenant();
  const created = await subscriptions.create(newSubscriptionRow(tenantId, { ordering }));
  return { id: created.id, tenantId };
}

/** Publishes one event per key, in this order, and answers the delivery ids in publish order. */
async function publish(to: { tenantId: string }, keys: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const key of keys) {
    const outcome = await events.publish(
      {
        event_id: newEventId(),
        event_type: 'user.updated',
        occurred_at: new Date().toISOString(),
        tenant: { id: to.tenantId },
        data: { user: { id: key } },
      },
      `hash-${ids.length}`,
      key,
    );
    if (outcome.kind !== 'created') throw new Error('expected a new event');
    ids.push(outcome.deliveries[0].id);
  }
  return ids;
}

const claim = async (on = outbox) => (await on.claim(100, LEASE_MS, NO_LIMITS)).rows.map((row) => row.id);

/** What the attempt records when the receiver answered 2xx: the delivery's end. */
const delivered = (deliveryId: string) =>
  attempts.recordAttempt({
    deliveryId,
    attempt: 1,
    startedAt: new Date(),
    durationMs: 1,
    statusCode: 200,
    error: null,
    responseExcerpt: null,
    succeeded: true,
    tracksFailures: false,
  });

describe('the outbox claim of an ordered (per_entity) subscription', () => {
  it("admits one delivery per key, the oldest, and each key's next one once the previous has ended, whatever ended it", async () => {
    const ordered = await subscription('per_entity');
    const [a1, b1, a2, a3, b2] = await publish(ordered, ['usr_a', 'usr_b', 'usr_a', 'usr_a', 'usr_b']);
    expect(await claim()).toEqual([a1, b1]);
    await outbox.markStarted([a1, b1]);
    expect(await claim()).toEqual([]);

    await delivered(a1);
    expect(await claim()).toEqual([a2]);
    await outbox.markStarted([a2]);
    // A retry on its schedule keeps the key; a dead letter and a cancel end it.
    await attempts.recordState(b1, { status: 'retry_scheduled', nextAttemptAt: new Date() });
    expect(await claim()).toEqual([]);
    await attempts.recordState(b1, { status: 'dead_lettered', failureReason: 'exhausted' });
    await attempts.recordState(a2, { status: 'cancelled', failureReason: 'cancelled' });
    expect((await claim()).sort()).toEqual([a3, b2].sort());
  });

  it('leaves unordered subscriptions and other keys alone: they are claimed while a key waits', async () => {
    const ordered = await subscription('per_entity');
    const unordered = await subscription('none');
    const [a1, , b1] = await publish(ordered, ['usr_a', 'usr_a', 'usr_b']);
    const plain = await publish(unordered, ['usr_a', 'usr_a', 'usr_a']);
    expect((await claim()).sort()).toEqual([a1, b1, ...plain].sort());
    expect(await claim()).toEqual([]);
  });

  it('lists the blocked keys with their head, its status and since when, and how many wait behind it', async () => {
    const ordered = await subscription('per_entity');
    const [a1] = await publish(ordered, ['usr_a', 'usr_a', 'usr_a', 'usr_b']);
    await outbox.markStarted(await claim());
    const { keys, more } = await heads.blockedKeys(ordered.id, 10);
    expect(more).toBe(false);
    expect(keys).toEqual([
      { ordering_key: 'usr_a', head_delivery_id: a1, head_status: 'pending', since: expect.any(Date), waiting: 2 },
    ]);
  });

  it("takes a lapsed claim's head again, never a row of its key behind it", async () => {
    const ordered = await subscription('per_entity');
    const [a1] = await publish(ordered, ['usr_a', 'usr_a']);
    expect((await outbox.claim(100, 1, NO_LIMITS)).rows.map((row) => row.id)).toEqual([a1]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await claim()).toEqual([a1]);
    await outbox.release([a1]);
    expect(await claim()).toEqual([a1]);
  });

  it('keeps a key going when its head ended without releasing it', async () => {
    const ordered = await subscription('per_entity');
    const [a1, a2] = await publish(ordered, ['usr_a', 'usr_a']);
    expect(await claim()).toEqual([a1]);
    // An ending written by a path that does not know about ordering (an operator's SQL).
    await pool.query(`UPDATE deliveries SET status = 'cancelled', workflow_started_at = now() WHERE id = $1`, [a1]);
    expect(await claim()).toEqual([a2]);
  });

  it('never orders a redrive: a dead letter redriven goes past the key', async () => {
    const ordered = await subscription('per_entity');
    const [a1, a2] = await publish(ordered, ['usr_a', 'usr_a']);
    expect(await claim()).toEqual([a1]);
    await outbox.markStarted([a1]);
    await attempts.recordState(a1, { status: 'dead_lettered', failureReason: 'exhausted' });
    expect(await claim()).toEqual([a2]);
    await outbox.markStarted([a2]);
    // The redriver died before its start: a relay takes the redrive over once its lease passed.
    await outbox.claimRedrive(a1, undefined, ['dead_lettered']);
    await pool.query(`UPDATE deliveries SET start_claimed_until = now() - interval '1 second' WHERE id = $1`, [a1]);
    expect(await claim()).toEqual([a1]);
  });

  it('never lets two deliveries of one key run at once under relays claiming while deliveries end, and runs each key in publish order', async () => {
    await assertProperty(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 10, maxLength: 40 }),
        fc.infiniteStream(fc.boolean()),
        async (keyNumbers, endsNow) => {
          const ordered = await subscription('per_entity');
          const keys = keyNumbers.map((n) => `usr_${n}`);
          const ids = await publish(ordered, keys);
          const keyOf = new Map(ids.map((id, n) => [id, keys[n]]));
          const relays = Array.from({ length: 4 }, () => new OutboxRepository(wide));
          const running = new Map<string, string>();
          const order = new Map<string, string[]>();
          let ended = 0;
          while (ended < ids.length) {
            // Some of what runs ends, in any order, while the relays claim side by side.
            const ending = [...running].filter(() => endsNow.next().value);
            const [claimed] = await Promise.all([
              Promise.all(relays.map((relay) => claim(relay))).then((rows) => rows.flat()),
              ...ending.map(([, id]) => delivered(id)),
            ]);
            for (const [key] of ending) running.delete(key);
            ended += ending.length;
            for (const id of claimed) {
              const key = keyOf.get(id)!;
              expect(running.get(key)).toBeUndefined();
              running.set(key, id);
              order.set(key, [...(order.get(key) ?? []), id]);
            }
            await outbox.markStarted(claimed);
          }
          for (const [key, run] of order) expect(run).toEqual(ids.filter((id) => keyOf.get(id) === key));
        },
      ),
      6,
    );
  });
});
