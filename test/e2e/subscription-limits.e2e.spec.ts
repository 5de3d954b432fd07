import { WorkflowNotFoundError } from '@temporalio/client';
import { deliveryWorkflowId } from '../../libs/contracts/ids';
import { uniqueTenant } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { publish } from '../helpers/fixtures';
import { TestReceiver } from '../helpers/receiver';

import { Stack, startStack, WAITING_POLICY } from '../helpers/stack';
import { WorkerProcess } from '../helpers/worker-process';

/** How long the receiver holds each request: long enough for attempts to overlap when nothing limits them. */
const HOLD_MS = 300;
const EVENTS = 20;

let stack: Stack;
/** The second worker: a process of its own, on the same task queue, Postgres and Temporal. */
let secondWorker: WorkerProcess;

beforeAll(async () => {
  stack = await startStack(WAITING_POLICY);
  secondWorker = await WorkerProcess.start(stack.config, {
    WEBHOOK_RETRY_SCHEDULE: '0s,1h',
    WEBHOOK_ATTEMPT_TIMEOUT: '2s',
  });
}, 90_000);
afterAll(async () => {
  await secondWorker?.stop();
  await stack?.stop();
});

/** A subscription with these limits to the recorder, EVENTS events published to it; answers their deliveries. */
async function publishTo(recorder: TestReceiver, limits: Record<string, number>) {
  const tenantId = uniqueTenant();
  const created = await stack.request('POST', '/v1/subscriptions', {
    tenant_id: tenantId,
    url: await recorder.start(),
    event_types: ['user.*'],
    ...limits,
  });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject(limits);
  const published: Array<{ eventId: string; deliveryId: string }> = [];
  for (let n = 0; n < EVENTS; n++) {
    const answer = await publish(stack.client, tenantId, { data: { user: { id: `usr_${n}` } } });
    published.push({ eventId: answer.eventId, deliveryId: answer.deliveries[0].id });
  }
  return { subscriptionId: created.body.id as string, published };
}

const deliveriesIn = async (subscriptionId: string, status: string) =>
  (await stack.request('GET', `/v1/deliveries?subscription_id=${subscriptionId}&status=${status}&limit=200`)).body
    .data as Array<Record<string, unknown>>;

/** Every delivery delivered with exactly one attempt: waiting for a permit never counts as one. */
async function expectAllDeliveredOnce(subscriptionId: string, deliveryIds: string[]): Promise<void> {
  await eventually(async () => (await deliveriesIn(subscriptionId, 'delivered')).length === deliveryIds.length, {
    timeout: 90_000,
    description: 'every delivery delivered',
  });
  for (const id of deliveryIds) {
    const { body } = await stack.request('GET', `/v1/deliveries/${id}`);
    expect(body).toMatchObject({ status: 'delivered', attempt_count: 1 });
    expect(body.attempts).toHaveLength(1);
  }
}

/**
 * The identities of the workers that completed these workflows' tasks, how many of them waited throttled (a timer:
 * their receivers never fail), and how many history events each had.
 */
async function historiesOf(subscriptionId: string, eventIds: string[]) {
  const identities = new Set<string>();
  let throttled = 0;
  const lengths: number[] = [];
  for (const eventId of eventIds) {
    const history = await stack.temporal.workflow.getHandle(deliveryWorkflowId(eventId, subscriptionId)).fetchHistory();
    for (const event of history.events ?? []) {
      const identity = event.workflowTaskCompletedEventAttributes?.identity;
      if (identity) identities.add(identity);
    }
    if ((history.events ?? []).some((event) => event.timerStartedEventAttributes)) throttled += 1;
    lengths.push(history.events?.length ?? 0);
  }
  return { identities, throttled, lengths };
}

/**
 * EVENTS events to a subscription with these limits on a fresh recorder (`meanwhile` looks at them on their way),
 * every one delivered with one attempt and received once; answers the recorder and what the histories show.
 */
async function deliverAllThrough(
  limits: Record<string, number>,
  meanwhile?: (subscriptionId: string) => Promise<void>,
) {
  const recorder = new TestReceiver(() => ({ status: 200, delayMs: HOLD_MS }));
  try {
    const { subscriptionId, published } = await publishTo(recorder, limits);
    await meanwhile?.(subscriptionId);
    await expectAllDeliveredOnce(
      subscriptionId,
      published.map((p) => p.deliveryId),
    );
    expect(recorder.requests).toHaveLength(EVENTS);
    return {
      recorder,
      ...(await historiesOf(
        subscriptionId,
        published.map((p) => p.eventId),
      )),
    };
  } finally {
    await recorder.stop();
  }
}

/** A delivery attempted once, at once: started, one workflow task, the attempt's marker, its status, completed. */
const DELIVERED_AT_ONCE_EVENTS = 7;

describe('subscription limits across two worker processes', () => {
  it(`never lets a max_in_flight 2 receiver hold more than 2 attempts, and delivers all ${EVENTS} events with one attempt each, none throttled`, async () => {
    // Which worker's relay admits a delivery is a race: a permit given back wakes its own worker's relay at once, so
    // the worker that took the first permits may keep them all. The property needs both workers holding permits, so
    // a round run by one worker alone (every check still made) is followed by another, at most ROUNDS in all.
    const ROUNDS = 3;
    const workersPerRound: number[] = [];
    while (workersPerRound.length < ROUNDS && !workersPerRound.includes(2)) {
      const { recorder, identities, throttled } = await deliverAllThrough({ max_in_flight: 2 });
      expect(recorder.peakInFlight).toBeLessThanOrEqual(2);
      expect(throttled).toBe(0); // the limit made them wait in the outbox, not on timers
      workersPerRound.push(identities.size);
    }
    expect(workersPerRound).toContain(2); // both workers ran the deliveries of a round
  }, 240_000);

  it('paces a max_per_second 4 receiver: never more than 4 attempts arrive within 950 ms', async () => {
    const { recorder, throttled } = await deliverAllThrough({ max_per_second: 4 });
    // One start every 250 ms: four fit in 950 ms, a fifth only with 50 ms of jitter squeezed out of four gaps.
    expect(recorder.mostWithin(950)).toBeLessThanOrEqual(4);
    expect(throttled).toBeGreaterThan(0); // the pacing is judged at the attempt: its waits are throttle timers
  }, 120_000);

  it(`keeps a max_in_flight 1 backlog waiting in the outbox (pending, no attempt, no run) and never on throttle timers: every history stays at ${DELIVERED_AT_ONCE_EVENTS} events`, async () => {
    const { recorder, throttled, lengths } = await deliverAllThrough({ max_in_flight: 1 }, async (subscriptionId) => {
      const waiting = await eventually(
        // The newest: the last to be admitted, so it still waits while the test looks.
        async () =>
          (await deliveriesIn(subscriptionId, 'pending')).sort((a, b) => String(b.id).localeCompare(String(a.id)))[0],
        { timeout: 30_000, description: 'a delivery waiting in the outbox' },
      );
      expect(waiting).toMatchObject({ status: 'pending', attempt_count: 0 });
      const run = stack.temporal.workflow.getHandle(deliveryWorkflowId(String(waiting.event_id), subscriptionId));
      await expect(run.describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    });
    expect(recorder.peakInFlight).toBe(1);
    expect(throttled).toBe(0);
    expect(lengths).toEqual(Array(EVENTS).fill(DELIVERED_AT_ONCE_EVENTS));
  }, 120_000);

  it("gives another tenant's subscription its first attempts while a max_in_flight 1 backlog still waits in the outbox", async () => {
    const slow = new TestReceiver(() => ({ status: 200, delayMs: HOLD_MS }));
    const fast = new TestReceiver(() => ({ status: 200 }));
    try {
      const backlog = await publishTo(slow, { max_in_flight: 1 });
      const other = await publishTo(fast, {});
      // The other subscription's events were published after the whole backlog: oldest first, they would wait
      // about EVENTS x HOLD_MS behind it.
      await eventually(async () => fast.requests.length === EVENTS, {
        timeout: 30_000,
        description: "the other subscription's deliveries",
      });
      expect(slow.requests.length).toBeLessThan(EVENTS / 2);
      expect((await deliveriesIn(backlog.subscriptionId, 'pending')).length).toBeGreaterThan(0);
      await expectAllDeliveredOnce(
        other.subscriptionId,
        other.published.map((p) => p.deliveryId),
      );
    } finally {
      await slow.stop();
      await fast.stop();
    }
  }, 120_000);
});

describe('subscription limits over REST', () => {
  it('are set on create, changed and put back to the default (null) on update, and shown in every view', async () => {
    const tenant_id = uniqueTenant();
    const created = await stack.request('POST', '/v1/subscriptions', {
      tenant_id,
      url: 'https://crm.example.com/hook',
      event_types: ['*'],
      max_in_flight: 5,
    });
    expect(created.body).toMatchObject({ max_in_flight: 5, max_per_second: null });
    const { id } = created.body;
    expect((await stack.request('PATCH', `/v1/subscriptions/${id}`, { max_per_second: 20 })).body).toMatchObject({
      max_in_flight: 5,
      max_per_second: 20,
    });
    expect((await stack.request('PATCH', `/v1/subscriptions/${id}`, { max_in_flight: null })).body).toMatchObject({
      max_in_flight: null,
      max_per_second: 20,
    });
    expect((await stack.request('GET', `/v1/subscriptions/${id}`)).body).toMatchObject({
      max_in_flight: null,
      max_per_second: 20,
    });
    expect((await stack.request('GET', `/v1/subscriptions?tenant_id=${tenant_id}`)).body.data[0]).toMatchObject({
      max_in_flight: null,
      max_per_second: 20,
    });
  });

  it.each([
    ['max_in_flight', 0, 'must be >= 1'],
    ['max_in_flight', 1001, 'must be <= 1000'],
    ['max_in_flight', 2.5, 'must be integer'],
    ['max_per_second', '5', 'must be integer'],
    ['max_per_second', 10_001, 'must be <= 10000'],
  ])('refuses %s %p with 400 validation_failed naming the field', async (field, value, problem) => {
    const tenant_id = uniqueTenant();
    const created = await stack.request('POST', '/v1/subscriptions', {
      tenant_id,
      url: 'https://crm.example.com/hook',
      event_types: ['*'],
      [field]: value,
    });
    expect(created.status).toBe(400);
    expect(created.body.error).toMatchObject({ code: 'validation_failed', details: [{ field, problem }] });
    const { body: existing } = await stack.request('POST', '/v1/subscriptions', {
      tenant_id,
      url: 'https://crm.example.com/hook',
      event_types: ['*'],
    });
    const updated = await stack.request('PATCH', `/v1/subscriptions/${existing.id}`, { [field]: value });
    expect(updated.status).toBe(400);
    expect(updated.body.error).toMatchObject({
      code: 'validation_failed',
      details: [{ field, problem: problem === 'must be integer' ? 'must be integer,null' : problem }],
    });
  });
});
