import { createHash } from 'node:crypto';
import { ENDED_DELIVERY_STATUSES } from '../../libs/contracts/delivery-status';
import { CountingReceiver, FaultHarness } from './harness';

/** Short waits so a run's retries finish in seconds; five attempts. */
export const FAULT_POLICY = { retryScheduleMs: [0, 300, 600, 1_200, 2_400], attemptTimeoutMs: 3_000, ttlMs: 3_600_000 };

/** The flaky receiver fails an attempt when this says so: deterministic per (event, attempt), so a retried attempt gets the same answer. */
export function flakyFails(eventId: string, attempt: number, failureRate = 0.3): boolean {
  return createHash('sha256').update(`${eventId}#${attempt}`).digest()[0] < failureRate * 256;
}

interface Published {
  eventId: string;
  eventType: string;
}

export interface FaultReport {
  scenario: string;
  published: number;
  deliveries: number;
  delivered: number;
  deadLettered: number;
  missing: number;
  wrong: number;
  unmatchedReceipts: number;
  extraReceipts: number;
  deliveredTwice: number;
  seconds: number;
  notes: string[];
  /** Deliveries of the ordered subscription received while another delivery of their key was under way. */
  interleaved: number;
  /** Keys of the ordered subscription still headed by a delivery once every delivery ended. */
  keysLeftBlocked: number;
}

/** The users the published user events are about, in turn: each is an ordering key of the `ordered` subscription. */
const ORDERED_KEYS = 5;

/**
 * One tenant, five subscriptions on one receiver: `ok` (user.*, always 200), `flaky` (*, 500 on about 30% of
 * attempts), `down` (security.*, always 500), `never` (application.*, which no published event matches) and
 * `ordered` (user.*, ordering per_entity, as flaky as `flaky`).
 */
async function setUp(harness: FaultHarness, receiver: CountingReceiver, base: string) {
  const tenantId = `tnt_faults_${Date.now()}`;
  const ids: Record<string, string> = {};
  for (const [name, eventTypes, fields] of [
    ['ok', ['user.*'], {}],
    ['flaky', ['*'], {}],
    ['down', ['security.*'], {}],
    ['never', ['application.*'], {}],
    ['ordered', ['user.*'], { ordering: 'per_entity' }],
  ] as const) {
    const created = await harness.request('POST', '/v1/subscriptions', {
      tenant_id: tenantId,
      url: `${base}/${name}`,
      event_types: eventTypes,
      ...fields,
    });
    if (created.status !== 201)
      throw new Error(`subscription ${name}: ${created.status} ${JSON.stringify(created.body)}`);
    ids[name] = created.body.id;
  }
  return { tenantId, ids };
}

function receiverAnswers(path: string, eventId: string, attempt: number): number {
  if (path === '/down') return 500;
  if ((path === '/flaky' || path === '/ordered') && flakyFails(eventId, attempt)) return 500;
  return 200;
}

async function publishMany(
  harness: FaultHarness,
  tenantId: string,
  count: number,
  parallel: number,
  onProgress?: (done: number) => Promise<void> | void,
  paceMs = 0,
) {
  const published: Published[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const n = next++;
        const eventType = n % 3 === 2 ? 'security.brute_force_detected' : 'user.updated';
        const eventId = `evt_fault_${tenantId}_${n}`;
        const data = eventType === 'user.updated' ? { user: { id: `usr_${n % ORDERED_KEYS}` } } : { ip: '203.0.113.9' };
        // Like a real publisher: a publish that failed (api killed under it, Postgres down) is retried with the same
        // event_id, which is idempotent, until it is answered.
        for (;;) {
          const answer = await harness
            .request('POST', '/v1/events', { event_id: eventId, event_type: eventType, tenant: { id: tenantId }, data })
            .catch(() => undefined);
          if (answer?.status === 202) {
            published.push({ eventId, eventType });
            break;
          }
          harness.assertNoCrash();
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        await onProgress?.(published.length);
        if (paceMs) await new Promise((resolve) => setTimeout(resolve, paceMs));
      }
    }),
  );
  return published;
}

/** Waits for every delivery to end, then checks each against what its receiver deserved. */
async function verify(
  harness: FaultHarness,
  receiver: CountingReceiver,
  tenantId: string,
  ids: Record<string, string>,
  published: Published[],
  scenario: string,
  startedAt: number,
  notes: string[],
  timeoutMs: number,
): Promise<FaultReport> {
  const pathOf = new Map(Object.entries(ids).map(([name, id]) => [id, `/${name}`]));
  await harness.until(
    async () => {
      const { rows } = await harness.pool.query(
        `SELECT count(*)::int AS open FROM deliveries WHERE tenant_id = $1::text AND status <> ALL($2::text[])`,
        [tenantId, ENDED_DELIVERY_STATUSES],
      );
      return rows[0].open === 0;
    },
    timeoutMs,
    'every delivery to end',
  );
  const { rows } = await harness.pool.query<{
    event_id: string;
    subscription_id: string;
    status: string;
    attempt_count: number;
    failure_reason: string | null;
  }>(
    `SELECT event_id, subscription_id, status, attempt_count, failure_reason FROM deliveries WHERE tenant_id = $1::text`,
    [tenantId],
  );
  const byKey = new Map(rows.map((row) => [`${row.event_id}|${pathOf.get(row.subscription_id)}`, row]));
  const attempts = FAULT_POLICY.retryScheduleMs.length;
  let missing = 0;
  let wrong = 0;
  for (const { eventId, eventType } of published) {
    const expected = eventType.startsWith('user.') ? ['/ok', '/flaky', '/ordered'] : ['/flaky', '/down'];
    for (const path of expected) {
      const row = byKey.get(`${eventId}|${path}`);
      if (!row) {
        missing += 1;
        continue;
      }
      const deserved = Array.from({ length: attempts }, (_, i) => receiverAnswers(path, eventId, i + 1)).includes(200)
        ? 'delivered'
        : 'dead_lettered';
      if (row.status !== deserved) wrong += 1;
    }
  }
  const publishedIds = new Set(published.map((p) => p.eventId));
  // A delivery of an event the publisher never had answered would be one nobody asked for.
  wrong += rows.filter((row) => !publishedIds.has(row.event_id)).length;
  const unmatchedReceipts = [...receiver.receipts.entries()]
    .filter(([key]) => key.endsWith('|/never') || !byKey.has(key))
    .reduce((sum, [, n]) => sum + n, 0);
  const totalReceipts = [...receiver.receipts.values()].reduce((a, b) => a + b, 0);
  const totalAttempts = rows.reduce((sum, row) => sum + row.attempt_count, 0);
  const { rows: twice } = await harness.pool.query(
    `SELECT count(*)::int AS n FROM (SELECT delivery_id FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
       WHERE d.tenant_id = $1::text AND a.succeeded GROUP BY delivery_id HAVING count(*) > 1) x`,
    [tenantId],
  );
  const ordering = await orderingOf(harness, receiver, ids.ordered);
  return {
    scenario,
    published: published.length,
    deliveries: rows.length,
    delivered: rows.filter((row) => row.status === 'delivered').length,
    deadLettered: rows.filter((row) => row.status === 'dead_lettered').length,
    missing,
    wrong,
    unmatchedReceipts,
    extraReceipts: totalReceipts - totalAttempts,
    deliveredTwice: twice[0].n,
    seconds: Math.round((Date.now() - startedAt) / 100) / 10,
    notes,
    ...ordering,
  };
}

/**
 * The ordered subscription's promise, once every delivery ended: per key, each delivery's receipts (its attempts, a
 * resend after a kill) came together, none between two receipts of another delivery of the key; no head is left.
 */
async function orderingOf(harness: FaultHarness, receiver: CountingReceiver, subscriptionId: string) {
  const { rows } = await harness.pool.query<{ event_id: string; ordering_key: string }>(
    `SELECT event_id, ordering_key FROM deliveries WHERE subscription_id = $1::text`,
    [subscriptionId],
  );
  const keyOf = new Map(rows.map((row) => [row.event_id, row.ordering_key]));
  const runs = new Map<string, string[]>();
  for (const arrival of receiver.arrivals) {
    const [eventId, path] = arrival.split('|');
    const key = keyOf.get(eventId);
    if (path !== '/ordered' || key === undefined) continue;
    const run = runs.get(key) ?? [];
    if (run[run.length - 1] !== eventId) run.push(eventId);
    runs.set(key, run);
  }
  const interleaved = [...runs.values()].reduce((sum, run) => sum + run.length - new Set(run).size, 0);
  const { rows: heads } = await harness.pool.query(
    `SELECT count(*)::int AS n FROM ordering_heads WHERE subscription_id = $1::text`,
    [subscriptionId],
  );
  return { interleaved, keysLeftBlocked: heads[0].n as number };
}

async function withHarness<T>(
  run: (harness: FaultHarness, receiver: CountingReceiver, base: string) => Promise<T>,
): Promise<T> {
  const receiver = new CountingReceiver((path, eventId, attempt) => ({
    status: receiverAnswers(path, eventId, attempt),
  }));
  const base = await receiver.start();
  const harness = await FaultHarness.start(FAULT_POLICY);
  try {
    return await run(harness, receiver, base);
  } finally {
    await harness.stop();
    await receiver.stop();
  }
}

/** Worker SIGKILLed `kills` times while `events` events are published and delivered. */
export function workerKills(events: number, kills: number): Promise<FaultReport> {
  return withHarness(async (harness, receiver, base) => {
    const startedAt = Date.now();
    const { tenantId, ids } = await setUp(harness, receiver, base);
    routeByPath(receiver);
    let killed = 0;
    const killing = (async () => {
      while (killed < kills) {
        await new Promise((resolve) => setTimeout(resolve, 700 + Math.random() * 800));
        await harness.kill('worker');
        killed += 1;
        await harness.startPart('worker');
      }
    })();
    const published = await publishMany(harness, tenantId, events, 8);
    await killing;
    return verify(
      harness,
      receiver,
      tenantId,
      ids,
      published,
      `worker SIGKILL x${kills}`,
      startedAt,
      [`${killed} worker kills`],
      300_000 + events * 200,
    );
  });
}

/** The api SIGKILLed while publishes are in flight: every delivery it committed is started by the worker's outbox relay. */
export function apiKill(events: number): Promise<FaultReport> {
  return withHarness(async (harness, receiver, base) => {
    const startedAt = Date.now();
    const { tenantId, ids } = await setUp(harness, receiver, base);
    routeByPath(receiver);
    let unstartedAtKill = -1;
    const published = await publishMany(harness, tenantId, events, 16, async (done) => {
      if (done >= events / 2 && unstartedAtKill < 0) {
        unstartedAtKill = 0;
        await harness.kill('api');
        const { rows } = await harness.pool.query(
          `SELECT count(*)::int AS n FROM deliveries WHERE tenant_id = $1::text AND workflow_started_at IS NULL`,
          [tenantId],
        );
        unstartedAtKill = rows[0].n;
        await harness.startPart('api');
      }
    });
    return verify(
      harness,
      receiver,
      tenantId,
      ids,
      published,
      'api SIGKILL between commit and start',
      startedAt,
      [`${unstartedAtKill} committed deliveries had no workflow when the api died`],
      300_000,
    );
  });
}

/** The Temporal dev server, then Postgres, restarted in the middle of a run. */
export function restarts(events: number): Promise<FaultReport> {
  return withHarness(async (harness, receiver, base) => {
    const startedAt = Date.now();
    const { tenantId, ids } = await setUp(harness, receiver, base);
    routeByPath(receiver);
    const notes: string[] = [];
    let publishedSoFar = 0;
    // One disturbance at a time, from a task of its own (not from the publishers, several of which see each count).
    const disturbing = (async () => {
      await harness.until(() => publishedSoFar >= events / 3, 120_000, 'a third of the publishes');
      await harness.restartTemporal();
      notes.push(`Temporal dev server restarted after ${publishedSoFar} publishes`);
      await harness.until(() => publishedSoFar >= (2 * events) / 3, 120_000, 'two thirds of the publishes');
      await harness.restartPostgres(2_000);
      notes.push(`Postgres stopped for 2 s after ${publishedSoFar} publishes`);
    })();
    // Paced, so the restarts land while events are still being published and delivered.
    const published = await publishMany(
      harness,
      tenantId,
      events,
      2,
      (done) => {
        publishedSoFar = done;
      },
      100,
    );
    await disturbing;
    return verify(
      harness,
      receiver,
      tenantId,
      ids,
      published,
      'Temporal and Postgres restarts',
      startedAt,
      notes,
      300_000,
    );
  });
}

/** SIGTERM to the worker while every attempt takes 2 s: attempts in flight finish and are recorded before it exits. */
export function gracefulShutdown(
  events: number,
): Promise<FaultReport & { inFlightAtTerm: number; finishedBeforeExit: number; shutdownMs: number }> {
  return withHarness(async (harness, receiver, base) => {
    const startedAt = Date.now();
    const { tenantId, ids } = await setUp(harness, receiver, base);
    routeByPath(receiver, 2_000); // slower than usual, within the 3 s attempt budget
    const published = await publishMany(harness, tenantId, events, 8);
    await harness.until(
      () => [...receiver.receipts.values()].reduce((a, b) => a + b, 0) >= events,
      30_000,
      'attempts in flight',
    );
    const inFlight = [...receiver.receipts.values()].reduce((a, b) => a + b, 0);
    const shutdownMs = await harness.terminate('worker');
    const { rows } = await harness.pool.query(
      `SELECT count(*)::int AS n FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.tenant_id = $1::text AND a.status_code IS NOT NULL`,
      [tenantId],
    );
    routeByPath(receiver);
    await harness.startPart('worker');
    const report = await verify(
      harness,
      receiver,
      tenantId,
      ids,
      published,
      'worker SIGTERM with attempts in flight',
      startedAt,
      [],
      120_000,
    );
    return { ...report, inFlightAtTerm: inFlight, finishedBeforeExit: rows[0].n, shutdownMs };
  });
}

/** The receiver answers by path (see setUp), optionally slowly. */
function routeByPath(receiver: CountingReceiver, delayMs = 0): void {
  receiver.respond((path, eventId, attempt) => ({ status: receiverAnswers(path, eventId, attempt), delayMs }));
}
