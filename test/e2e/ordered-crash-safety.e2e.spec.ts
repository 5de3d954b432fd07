import { Pool } from 'pg';
import { testPool, uniqueTenant } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { publish, subscribeReceiver } from '../helpers/fixtures';
import { ReceivedRequest, TestReceiver } from '../helpers/receiver';
import { Stack, startStack, WAITING_POLICY } from '../helpers/stack';
import { WorkerProcess } from '../helpers/worker-process';

/**
 * Ordered delivery across worker processes: two workers share the outbox and the task queue, one is killed (SIGKILL)
 * in the middle of the run and another takes its place. Per key, deliveries still go one at a time in publish
 * order; nothing is lost; no key stays blocked.
 */

const EVENTS = 60;
const KEYS = 8;
/** How long the receiver holds each request: a killed worker leaves attempts in the middle of their send. */
const HOLD_MS = 150;
/** Retries a second apart: the first attempt of every fourth event fails, so heads wait while other keys go on. */
const WORKER_ENV = { WEBHOOK_RETRY_SCHEDULE: '0s,1s,1s,1s,1s,1s,1s,1s', WEBHOOK_ATTEMPT_TIMEOUT: '2s' };

let stack: Stack;
let pool: Pool;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  // The api alone in this process: every delivery runs on the worker processes below.
  stack = await startStack(WAITING_POLICY, { worker: false });
  pool = testPool();
  workers.push(
    await WorkerProcess.start(stack.config, WORKER_ENV),
    await WorkerProcess.start(stack.config, WORKER_ENV),
  );
}, 120_000);
afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await stack?.stop();
  await pool?.end();
});

const eventIdOf = (request: ReceivedRequest) => String(request.headers['x-intelliauth-event-id']);

it('keeps each key one at a time in publish order through a worker SIGKILL mid-run, loses nothing and leaves no key blocked', async () => {
  const failedOnce = new Set<string>();
  const receiver = new TestReceiver((_index, request) => {
    const eventId = eventIdOf(request);
    if (JSON.parse(request.body).data.fail_first === true && !failedOnce.has(eventId)) {
      failedOnce.add(eventId);
      return { status: 500, delayMs: HOLD_MS };
    }
    return { status: 200, delayMs: HOLD_MS };
  });
  const subscription = await subscribeReceiver(stack, receiver, {
    tenantId: uniqueTenant(),
    eventTypes: ['user.*'],
    ordering: 'per_entity',
  });
  const published: Array<{ eventId: string; key: string }> = [];
  for (let n = 0; n < EVENTS; n++) {
    const user = `usr_${(n * 5) % KEYS}`;
    const { eventId } = await publish(stack.client, subscription.tenantId, {
      data: { user: { id: user }, fail_first: n % 4 === 0 },
    });
    published.push({ eventId, key: `user:${user}` });
  }

  await eventually(() => receiver.requests.length >= 15, { timeout: 60_000, description: 'the run under way' });
  await workers[0].kill();
  const receivedAtKill = new Set(receiver.requests.map(eventIdOf)).size;
  expect(receivedAtKill).toBeLessThan(EVENTS);
  workers.push(await WorkerProcess.start(stack.config, WORKER_ENV));

  // Nothing lost: every delivery ends delivered (the killed worker's runs move on after their task timeouts,
  // its claimed but unstarted rows after their lease).
  await eventually(
    async () =>
      (await stack.client.get(`/v1/deliveries?subscription_id=${subscription.id}&status=delivered&limit=${EVENTS}`))
        .data.length === EVENTS,
    { timeout: 150_000, interval: 1_000, description: `all ${EVENTS} deliveries delivered` },
  );

  const keyOf = new Map(published.map((event) => [event.eventId, event.key]));
  for (let k = 0; k < KEYS; k++) {
    const key = `user:usr_${k}`;
    const requests = receiver.requests.filter((request) => keyOf.get(eventIdOf(request)) === key);
    // Publish order: the key's requests, repeats of one delivery (a retry, a resend after the kill) folded.
    const sequence = requests.map(eventIdOf).filter((eventId, n, all) => n === 0 || all[n - 1] !== eventId);
    expect(sequence).toEqual(published.filter((event) => event.key === key).map((event) => event.eventId));
    // One at a time: a delivery's first request comes after the previous delivery's last one was answered (less a
    // few ms for the clocks' rounding).
    for (let n = 1; n < requests.length; n++)
      if (eventIdOf(requests[n]) !== eventIdOf(requests[n - 1]))
        expect(requests[n].at - requests[n - 1].at).toBeGreaterThanOrEqual(HOLD_MS - 5);
  }

  // No key left blocked, nor a head left behind.
  expect((await stack.client.get(`/v1/subscriptions/${subscription.id}/blocked-keys`)).data).toEqual([]);
  const heads = await pool.query(`SELECT count(*)::int AS n FROM ordering_heads WHERE subscription_id = $1::text`, [
    subscription.id,
  ]);
  expect(heads.rows[0].n).toBe(0);
  expect(failedOnce.size).toBeGreaterThan(0);
});
