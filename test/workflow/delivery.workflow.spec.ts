import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { AttemptOutcome } from '../../activities/delivery.activities';
import { DEFAULT_DELIVERY_POLICY } from '../../libs/contracts/delivery-policy';
import {
  cancelSignal,
  DeliveryWorkflowInput,
  retryNowSignal,
  stateQuery,
} from '../../libs/contracts/delivery-workflow';
import { deliveryWorkflow } from '../../workflows/delivery.workflow';
import { AttemptKind, ScriptedDeliveryActivities } from '../../tools/workflow-testing/scripted-activities';
import { eventually } from '../helpers/eventually';
import { bundleWorkflows, createTimeSkippingEnv } from '../helpers/time-skipping';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleWorkflows()]);
});
afterAll(() => env?.teardown());

/** How long a scripted throttled attempt is told to wait for a permit. */
const THROTTLE_WAIT_MS = 700;

/** Scripted attempt outcomes on the server's (skipped) clock; the real activity has its own tests. */
function scripted(outcomes: AttemptKind[], retryAfterMs: number | null = null): ScriptedDeliveryActivities {
  return new ScriptedDeliveryActivities(outcomes, {
    retryAfterMs,
    throttleWaitMs: THROTTLE_WAIT_MS,
    now: () => env.currentTimeMs(),
  });
}

let queueNumber = 0;

async function withWorker<T>(
  receiver: ScriptedDeliveryActivities,
  body: (taskQueue: string) => Promise<T>,
): Promise<T> {
  const taskQueue = `delivery-test-${++queueNumber}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: receiver.activities(),
  });
  return worker.runUntil(body(taskQueue));
}

async function input(overrides: Partial<DeliveryWorkflowInput> = {}): Promise<DeliveryWorkflowInput> {
  const now = await env.currentTimeMs();
  return {
    deliveryId: `whdlv_test_${queueNumber}`,
    eventId: 'evt_test',
    eventType: 'user.signed_up',
    tenantId: 'tnt_test',
    subscriptionId: 'whsub_test',
    deadline: new Date(now + DEFAULT_DELIVERY_POLICY.ttlMs).toISOString(),
    retryScheduleMs: DEFAULT_DELIVERY_POLICY.retryScheduleMs,
    attemptTimeoutMs: DEFAULT_DELIVERY_POLICY.attemptTimeoutMs,
    firstAttempt: 1,
    localAttempts: true,
    ...overrides,
  };
}

/** Starts a delivery with the default input on the worker's task queue and waits until its state query shows `status`. */
async function startUntil(taskQueue: string, status: string) {
  const handle = await env.client.workflow.start(deliveryWorkflow, {
    taskQueue,
    workflowId: `wf-${queueNumber}`,
    args: [await input()],
  });
  await eventually(async () => (await handle.query(stateQuery)).status === status, {
    timeout: 10_000,
    interval: 50,
    description: `the workflow to be ${status}`,
  });
  return handle;
}

/** The event types of a finished run's history, in order. */
async function historyShape(workflowId: string): Promise<string[]> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).map((event) => {
    const attributes = Object.keys(event).find(
      (key) => key.endsWith('EventAttributes') && (event as Record<string, unknown>)[key],
    );
    return (attributes ?? 'unknown').replace(/EventAttributes$/, '');
  });
}

describe('deliveryWorkflow on the default schedule (time-skipping)', () => {
  it('delivers on attempt 1 without waiting', async () => {
    const receiver = scripted(['delivered']);
    const result = await withWorker(receiver, async (taskQueue) =>
      env.client.workflow.execute(deliveryWorkflow, {
        taskQueue,
        workflowId: `wf-${queueNumber}`,
        args: [await input()],
      }),
    );
    expect(result).toEqual({ status: 'delivered', attemptsThisRun: 1, failureReason: null });
    expect(receiver.attempts.map((a) => a.input.attempt)).toEqual([1]);
    expect(receiver.states).toEqual([]);
  });

  it('delivers on attempt 3 after two failures, the attempts 1m and 5m apart', async () => {
    const receiver = scripted(['failed', 'failed', 'delivered']);
    const result = await withWorker(receiver, async (taskQueue) =>
      env.client.workflow.execute(deliveryWorkflow, {
        taskQueue,
        workflowId: `wf-${queueNumber}`,
        args: [await input()],
      }),
    );
    expect(result.status).toBe('delivered');
    expect(receiver.attempts.map((a) => a.input.attempt)).toEqual([1, 2, 3]);
    const [first, second] = receiver.gaps();
    expect(first).toBeGreaterThanOrEqual(MINUTE);
    expect(first).toBeLessThan(MINUTE + 5_000);
    expect(second).toBeGreaterThanOrEqual(5 * MINUTE);
    expect(second).toBeLessThan(5 * MINUTE + 5_000);
    expect(receiver.states.map((s) => s.status)).toEqual(['retry_scheduled', 'retry_scheduled']);
  });

  it('dead-letters after six failures, about 14h36m after the first attempt', async () => {
    const receiver = scripted([]);
    const result = await withWorker(receiver, async (taskQueue) =>
      env.client.workflow.execute(deliveryWorkflow, {
        taskQueue,
        workflowId: `wf-${queueNumber}`,
        args: [await input()],
      }),
    );
    expect(result).toEqual({ status: 'dead_lettered', attemptsThisRun: 6, failureReason: 'exhausted' });
    const span = receiver.attempts[5].at - receiver.attempts[0].at;
    expect(span).toBeGreaterThanOrEqual(14 * HOUR + 36 * MINUTE);
    expect(span).toBeLessThan(14 * HOUR + 37 * MINUTE);
    expect(receiver.states.at(-1)).toEqual({
      deliveryId: expect.any(String),
      status: 'dead_lettered',
      nextAttemptAt: null,
      failureReason: 'exhausted',
    });
  });

  it('expires an event that occurred 23h ago instead of retrying past its deadline', async () => {
    const receiver = scripted([]);
    const now = await env.currentTimeMs();
    const result = await withWorker(receiver, async (taskQueue) =>
      env.client.workflow.execute(deliveryWorkflow, {
        taskQueue,
        workflowId: `wf-${queueNumber}`,
        args: [await input({ deadline: new Date(now - 23 * HOUR + 24 * HOUR).toISOString() })],
      }),
    );
    // Attempts at 0, +1m, +6m, +36m; the next (+2h) would land at 25h36m after occurred_at.
    expect(result).toEqual({ status: 'dead_lettered', attemptsThisRun: 4, failureReason: 'expired' });
    expect(receiver.attempts.at(-1)!.at - now).toBeLessThan(HOUR);
  });

  it('stops when the subscription was disabled, with that reason', async () => {
    const receiver = scripted(['failed', 'stopped']);
    const result = await withWorker(receiver, async (taskQueue) =>
      env.client.workflow.execute(deliveryWorkflow, {
        taskQueue,
        workflowId: `wf-${queueNumber}`,
        args: [await input()],
      }),
    );
    expect(result).toEqual({ status: 'dead_lettered', attemptsThisRun: 1, failureReason: 'subscription_disabled' });
  });

  it('cancels during a wait: no further attempt, recorded as cancelled', async () => {
    const receiver = scripted([]);
    const result = await withWorker(receiver, async (taskQueue) => {
      const handle = await startUntil(taskQueue, 'retry_scheduled');
      const state = await handle.query(stateQuery);
      expect(state).toMatchObject({
        attemptsThisRun: 1,
        lastAttempt: 1,
        lastStatusCode: 500,
        nextAttemptAt: expect.any(String),
      });
      await handle.signal(cancelSignal, { reason: 'receiver retired', requestedBy: 'test' });
      return handle.result();
    });
    expect(result).toEqual({ status: 'cancelled', attemptsThisRun: 1, failureReason: 'cancelled: receiver retired' });
    expect(receiver.attempts).toHaveLength(1);
    expect(receiver.states.at(-1)).toMatchObject({ status: 'cancelled', failureReason: 'cancelled: receiver retired' });
  });

  it('records a cancellation requested from the Temporal UI (workflow cancel) as cancelled', async () => {
    const receiver = scripted([]);
    const result = await withWorker(receiver, async (taskQueue) => {
      const handle = await startUntil(taskQueue, 'retry_scheduled');
      await handle.cancel();
      return handle.result();
    });
    expect(result).toMatchObject({ status: 'cancelled', failureReason: 'cancelled: workflow cancellation requested' });
    expect(receiver.states.at(-1)).toMatchObject({ status: 'cancelled' });
  });

  it('retryNow skips the wait', async () => {
    const receiver = scripted(['failed', 'delivered']);
    const result = await withWorker(receiver, async (taskQueue) => {
      const handle = await startUntil(taskQueue, 'retry_scheduled');
      await handle.signal(retryNowSignal);
      await eventually(() => receiver.attempts.length === 2, {
        timeout: 10_000,
        interval: 50,
        description: 'the second attempt',
      });
      return handle.result();
    });
    expect(result.status).toBe('delivered');
    expect(receiver.gaps()[0]).toBeLessThan(MINUTE);
  });

  it('waits a 429’s Retry-After instead of the schedule, clamped to twice the scheduled delay', async () => {
    const receiver = scripted(['failed', 'failed', 'delivered'], 4 * MINUTE);
    await withWorker(receiver, async (taskQueue) =>
      env.client.workflow.execute(deliveryWorkflow, {
        taskQueue,
        workflowId: `wf-${queueNumber}`,
        args: [await input()],
      }),
    );
    const [first, second] = receiver.gaps();
    expect(first).toBeGreaterThanOrEqual(2 * MINUTE); // 1m scheduled, 4m asked, 2m allowed
    expect(first).toBeLessThan(2 * MINUTE + 5_000);
    expect(second).toBeGreaterThanOrEqual(5 * MINUTE); // 5m scheduled: 4m asked is earlier, so the schedule stands
    expect(second).toBeLessThan(5 * MINUTE + 5_000);
  });

  it('waits out a throttled attempt and asks again for the same attempt, the schedule untouched', async () => {
    const receiver = scripted(['failed', 'throttled', 'throttled', 'delivered']);
    const result = await withWorker(receiver, async (taskQueue) => {
      const handle = await env.client.workflow.start(deliveryWorkflow, {
        taskQueue,
        workflowId: `wf-${queueNumber}`,
        args: [await input()],
      });
      const result = await handle.result();
      const statuses = (await handle.fetchHistory()).events!.flatMap((event) => {
        const value =
          event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.DeliveryStatus?.data;
        return value ? [JSON.parse(Buffer.from(value).toString()) as string] : [];
      });
      expect(statuses).toEqual(['retry_scheduled', 'attempting', 'throttled', 'delivered']);
      return result;
    });
    expect(result).toEqual({ status: 'delivered', attemptsThisRun: 2, failureReason: null });
    expect(receiver.attempts.map((a) => [a.input.attempt, a.input.throttledTimes])).toEqual([
      [1, undefined],
      [2, undefined],
      [2, 1],
      [2, 2],
    ]);
    const [afterFailure, ...throttleWaits] = receiver.gaps();
    expect(afterFailure).toBeGreaterThanOrEqual(MINUTE);
    for (const wait of throttleWaits) {
      expect(wait).toBeGreaterThanOrEqual(THROTTLE_WAIT_MS);
      expect(wait).toBeLessThan(MINUTE);
    }
    // The activity marks a delivery throttled itself; the workflow records only the retry it scheduled.
    expect(receiver.states.map((s) => s.status)).toEqual(['retry_scheduled']);
  });

  it('dead-letters as expired a throttled attempt whose wait would pass the deadline', async () => {
    const receiver = scripted(['throttled']);
    const result = await withWorker(receiver, async (taskQueue) =>
      env.client.workflow.execute(deliveryWorkflow, {
        taskQueue,
        workflowId: `wf-${queueNumber}`,
        args: [await input({ deadline: new Date((await env.currentTimeMs()) + THROTTLE_WAIT_MS / 2).toISOString() })],
      }),
    );
    expect(result).toEqual({ status: 'dead_lettered', attemptsThisRun: 0, failureReason: 'expired' });
    expect(receiver.attempts).toHaveLength(1);
    expect(receiver.states).toEqual([
      { deliveryId: expect.any(String), status: 'dead_lettered', nextAttemptAt: null, failureReason: 'expired' },
    ]);
  });

  it('cancels during a throttle wait', async () => {
    const receiver = scripted(Array(1000).fill('throttled'));
    const result = await withWorker(receiver, async (taskQueue) => {
      const handle = await startUntil(taskQueue, 'throttled');
      expect(await handle.query(stateQuery)).toMatchObject({ attemptsThisRun: 0, nextAttemptAt: expect.any(String) });
      await handle.signal(cancelSignal, { reason: 'enough' });
      return handle.result();
    });
    expect(result).toEqual({ status: 'cancelled', attemptsThisRun: 0, failureReason: 'cancelled: enough' });
    expect(receiver.states.at(-1)).toMatchObject({ status: 'cancelled' });
  });

  it('continues attempt numbers after a redrive', async () => {
    const receiver = scripted(['delivered']);
    await withWorker(receiver, async (taskQueue) =>
      env.client.workflow.execute(deliveryWorkflow, {
        taskQueue,
        workflowId: `wf-${queueNumber}`,
        args: [await input({ firstAttempt: 7 })],
      }),
    );
    expect(receiver.attempts.map((a) => a.input.attempt)).toEqual([7]);
  });
});

describe('the attempt inside the workflow task (local activities)', () => {
  it('costs a delivered-at-once delivery seven history events: one marker for the attempt, one upsert of its final status', async () => {
    const receiver = scripted(['delivered']);
    await withWorker(receiver, async (taskQueue) =>
      env.client.workflow.execute(deliveryWorkflow, {
        taskQueue,
        workflowId: `wf-${queueNumber}`,
        args: [await input()],
      }),
    );
    expect(await historyShape(`wf-${queueNumber}`)).toEqual([
      'workflowExecutionStarted',
      'workflowTaskScheduled',
      'workflowTaskStarted',
      'workflowTaskCompleted',
      'markerRecorded',
      'upsertWorkflowSearchAttributes',
      'workflowExecutionCompleted',
    ]);
  });

  it('keeps activity tasks for a run started before attempts became local (no localAttempts in its input)', async () => {
    const receiver = scripted(['failed', 'delivered']);
    const result = await withWorker(receiver, async (taskQueue) =>
      env.client.workflow.execute(deliveryWorkflow, {
        taskQueue,
        workflowId: `wf-${queueNumber}`,
        args: [await input({ localAttempts: undefined })],
      }),
    );
    expect(result).toEqual({ status: 'delivered', attemptsThisRun: 2, failureReason: null });
    const shape = await historyShape(`wf-${queueNumber}`);
    expect(shape.filter((type) => type === 'activityTaskScheduled')).toHaveLength(3); // attempt, retry_scheduled record, attempt
    expect(shape).not.toContain('markerRecorded');
  });

  it('retries an infrastructure fault inside the task while the backoff is short, then on a durable timer', async () => {
    // Postgres down for the first four tries of attempt 1: retries after 1 s, 2 s (inside the task), then 4 s and 8 s
    // exceed the local retry threshold and become timers, so no task is held for the whole outage.
    let tries = 0;
    const activities = {
      ...scripted(['delivered']).activities(),
      attemptDelivery: async (): Promise<AttemptOutcome> => {
        if (++tries <= 4) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        return { kind: 'delivered', statusCode: 200, error: null };
      },
    };
    const taskQueue = `delivery-test-${++queueNumber}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities,
    });
    const result = await worker.runUntil(
      env.client.workflow.execute(deliveryWorkflow, {
        taskQueue,
        workflowId: `wf-${queueNumber}`,
        args: [await input()],
      }),
    );
    expect(result).toEqual({ status: 'delivered', attemptsThisRun: 1, failureReason: null });
    expect(tries).toBe(5);
    expect(
      (await historyShape(`wf-${queueNumber}`)).filter((type) => type === 'timerStarted').length,
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('redrive window', () => {
  it('counts a redrive run’s deadline from the run’s own start, not from the deadline in its input', async () => {
    const receiver = scripted(['failed', 'delivered']);
    const result = await withWorker(receiver, async (taskQueue) =>
      env.client.workflow.execute(deliveryWorkflow, {
        taskQueue,
        workflowId: `wf-${queueNumber}`,
        // An input deadline already in the past (a requester's clock behind the server's) must not expire the run.
        args: [
          await input({
            deadline: new Date(0).toISOString(),
            redriveWindowMs: DEFAULT_DELIVERY_POLICY.ttlMs,
            firstAttempt: 7,
          }),
        ],
      }),
    );
    expect(result).toEqual({ status: 'delivered', attemptsThisRun: 2, failureReason: null });
    expect(receiver.attempts.map((a) => a.input.attempt)).toEqual([7, 8]);
  });
});
