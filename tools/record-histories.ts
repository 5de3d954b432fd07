/**
 * `npm run record-histories`: runs the real workflow code (deliveryWorkflow, bulkRedriveWorkflow, retentionPurgeWorkflow) once per path on
 * the Java time-skipping test server, with scripted activities, and saves each run's history as
 * test/replay/histories/<path>.json. test/replay/replay.spec.ts replays them all against the current workflow code,
 * so a change to a workflow's command sequence that would break running workflows fails the test suite.
 *
 * Re-record only together with a versioning step (patched / deprecatePatch), never to make a failing replay pass:
 * see docs/development.md, "Workflow determinism and versioning". Needs the built workflows (npm run build) and the
 * test server (TEMPORAL_TEST_SERVER_PATH, else the cached one, else the SDK's download).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { projectRoot } from '../libs/config/project-root';
import { DEFAULT_DELIVERY_POLICY } from '../libs/contracts/delivery-policy';
import { timeSkippingServerPath } from './embedded/toolchain';
import { bulkRedriveWorkflow } from '../workflows/bulk-redrive.workflow';
import { retentionPurgeWorkflow } from '../workflows/retention.workflow';
import {
  cancelSignal,
  DeliveryResult,
  DeliveryWorkflowInput,
  retryNowSignal,
  stateQuery,
  stopSignal,
  workflowTaskTimeoutMs,
} from '../libs/contracts/delivery-workflow';
import { deliveryWorkflow } from '../workflows/delivery.workflow';
import { historyToJSON } from './workflow-testing/history-json';
import { AttemptKind, ScriptedDeliveryActivities } from './workflow-testing/scripted-activities';
import { bundleWorkflows, createTimeSkippingEnv } from './workflow-testing/time-skipping';

const HOUR = 3_600_000;
/** As the product starts its runs (libs/temporal/delivery-run-options.ts). */
const TASK_TIMEOUT_MS = workflowTaskTimeoutMs(DEFAULT_DELIVERY_POLICY.attemptTimeoutMs);
const HISTORIES_DIR = join(projectRoot(__dirname), 'test', 'replay', 'histories');
/** The workflow id each history was recorded (and is replayed) under. */
const replayWorkflowId = (path: string) => `replay:${path}`;

/** How long a throttled attempt was told to wait when the histories were recorded (their timers say so). */
const THROTTLE_WAIT_MS = 500;

function scriptedDeliveryActivities(outcomes: AttemptKind[], retryAfterMs: number | null = null) {
  return new ScriptedDeliveryActivities(outcomes, { retryAfterMs, throttleWaitMs: THROTTLE_WAIT_MS }).activities();
}

interface Context {
  env: TestWorkflowEnvironment;
  taskQueue: string;
  workflowId: string;
  input(overrides?: Partial<DeliveryWorkflowInput>): Promise<DeliveryWorkflowInput>;
}

interface Path {
  name: string;
  activities: object;
  /** Runs the workflow to its end and returns its handle; throws when the path did not end as it should. */
  run(ctx: Context): Promise<WorkflowHandle>;
}

function expectResult(name: string, actual: DeliveryResult, expected: Partial<DeliveryResult>): void {
  for (const [key, value] of Object.entries(expected)) {
    if ((actual as unknown as Record<string, unknown>)[key] !== value) {
      throw new Error(`${name}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    }
  }
}

async function waitForRetryScheduled(handle: WorkflowHandle<typeof deliveryWorkflow>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await handle.query(stateQuery)).status === 'retry_scheduled') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${handle.workflowId}: never reached retry_scheduled`);
}

/** A delivery run to its end without interference. */
function straight(
  name: string,
  outcomes: AttemptKind[],
  expected: Partial<DeliveryResult>,
  options: { retryAfterMs?: number; input?: (now: number) => Partial<DeliveryWorkflowInput> } = {},
): Path {
  return {
    name,
    activities: scriptedDeliveryActivities(outcomes, options.retryAfterMs ?? null),
    async run({ env, taskQueue, workflowId, input }) {
      const now = await env.currentTimeMs();
      const handle = await env.client.workflow.start(deliveryWorkflow, {
        taskQueue,
        workflowId,
        workflowTaskTimeout: TASK_TIMEOUT_MS,
        args: [await input(options.input?.(now))],
      });
      expectResult(name, await handle.result(), expected);
      return handle;
    },
  };
}

/** A delivery whose first attempt fails; `interfere` acts while it waits for the second. */
function interrupted(
  name: string,
  outcomes: AttemptKind[],
  expected: Partial<DeliveryResult>,
  interfere: (handle: WorkflowHandle<typeof deliveryWorkflow>) => Promise<void>,
): Path {
  return {
    name,
    activities: scriptedDeliveryActivities(outcomes),
    async run({ env, taskQueue, workflowId, input }) {
      const handle = await env.client.workflow.start(deliveryWorkflow, {
        taskQueue,
        workflowId,
        workflowTaskTimeout: TASK_TIMEOUT_MS,
        args: [await input()],
      });
      await waitForRetryScheduled(handle);
      await interfere(handle);
      expectResult(name, await handle.result(), expected);
      return handle;
    },
  };
}

/** Every path the replay test expects, one history each (test/replay/replay.spec.ts lists the same names). */
const PATHS: Path[] = [
  straight('delivered', ['delivered'], { status: 'delivered', attemptsThisRun: 1 }),
  straight('retried', ['failed', 'failed', 'delivered'], { status: 'delivered', attemptsThisRun: 3 }),
  straight('dead-lettered', [], { status: 'dead_lettered', attemptsThisRun: 6, failureReason: 'exhausted' }),
  // occurred 23h ago: attempts at 0, +1m, +6m, +36m, and the next (+2h) would pass occurred_at + 24h.
  straight(
    'expired',
    [],
    { status: 'dead_lettered', attemptsThisRun: 4, failureReason: 'expired' },
    { input: (now) => ({ deadline: new Date(now + HOUR).toISOString() }) },
  ),
  interrupted(
    'cancelled',
    [],
    { status: 'cancelled', attemptsThisRun: 1, failureReason: 'cancelled: receiver retired' },
    (handle) => handle.signal(cancelSignal, { reason: 'receiver retired', requestedBy: 'record-histories' }),
  ),
  interrupted('retried-now', ['failed', 'delivered'], { status: 'delivered', attemptsThisRun: 2 }, (handle) =>
    handle.signal(retryNowSignal),
  ),
  // A redrive: a new run of the same workflow id whose attempt numbers continue after the dead letter's six.
  straight(
    'redriven',
    ['delivered'],
    { status: 'delivered', attemptsThisRun: 1 },
    { input: () => ({ firstAttempt: 7 }) },
  ),
  interrupted(
    'stopped',
    [],
    { status: 'dead_lettered', attemptsThisRun: 1, failureReason: 'subscription_disabled' },
    (handle) => handle.signal(stopSignal, { reason: 'subscription_disabled' }),
  ),
  // The attempt itself finds the subscription disabled (or the receiver answered 410 Gone).
  straight('stopped-at-attempt', ['failed', 'stopped'], {
    status: 'dead_lettered',
    attemptsThisRun: 1,
    failureReason: 'subscription_disabled',
  }),
  // A 429 asking for 4m after the 1m slot: the wait is clamped to 2m.
  straight(
    'retry-after',
    ['failed', 'delivered'],
    { status: 'delivered', attemptsThisRun: 2 },
    { retryAfterMs: 4 * 60_000 },
  ),
  // No permit free under the subscription's limits, twice: the same attempt waits 500 ms and asks again.
  straight('throttled', ['throttled', 'throttled', 'delivered'], { status: 'delivered', attemptsThisRun: 1 }),
  interrupted(
    'workflow-cancelled',
    [],
    { status: 'cancelled', attemptsThisRun: 1, failureReason: 'cancelled: workflow cancellation requested' },
    (handle) => handle.cancel().then(() => undefined),
  ),
  {
    name: 'bulk-redrive',
    activities: (() => {
      let batches = 0;
      return {
        redriveBatch: async (_input: { bulkRedriveId: string; batchSize: number }) => ({ done: ++batches >= 2 }),
      };
    })(),
    async run({ env, taskQueue, workflowId }) {
      const handle = await env.client.workflow.start(bulkRedriveWorkflow, {
        taskQueue,
        workflowId,
        args: [{ bulkRedriveId: 'bulkrd_replay' }],
      });
      await handle.result();
      return handle;
    },
  },
  {
    // Two full batches of deliveries, then a short one; one short batch of events.
    name: 'retention-purge',
    activities: (() => {
      const deliveries = [2, 2, 1];
      return { purgeDeliveriesBatch: async () => deliveries.shift() ?? 0, purgeEventsBatch: async () => 1 };
    })(),
    async run({ env, taskQueue, workflowId }) {
      const handle = await env.client.workflow.start(retentionPurgeWorkflow, {
        taskQueue,
        workflowId,
        args: [{ retentionMs: 86_400_000, deadLetterRetentionMs: 86_400_000, batchSize: 2 }],
      });
      await handle.result();
      return handle;
    },
  },
];

async function record(env: TestWorkflowEnvironment, bundle: WorkflowBundleWithSourceMap, path: Path): Promise<void> {
  const taskQueue = `record-${path.name}`;
  const workflowId = replayWorkflowId(path.name);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: path.activities,
  });
  const input = async (overrides: Partial<DeliveryWorkflowInput> = {}): Promise<DeliveryWorkflowInput> => ({
    deliveryId: `whdlv_replay_${path.name}`,
    eventId: 'evt_replay',
    eventType: 'user.signed_up',
    tenantId: 'tnt_replay',
    subscriptionId: 'whsub_replay',
    deadline: new Date((await env.currentTimeMs()) + DEFAULT_DELIVERY_POLICY.ttlMs).toISOString(),
    retryScheduleMs: DEFAULT_DELIVERY_POLICY.retryScheduleMs,
    attemptTimeoutMs: DEFAULT_DELIVERY_POLICY.attemptTimeoutMs,
    firstAttempt: 1,
    localAttempts: true,
    ...overrides,
  });
  const handle = await worker.runUntil(path.run({ env, taskQueue, workflowId, input }));
  const history = await handle.fetchHistory();
  const file = join(HISTORIES_DIR, `${path.name}.json`);
  writeFileSync(file, `${historyToJSON(history)}\n`);
  console.log(`[record-histories] ${path.name}: ${history.events?.length ?? 0} events -> ${file}`);
}

async function main(): Promise<void> {
  mkdirSync(HISTORIES_DIR, { recursive: true });
  const serverPath = timeSkippingServerPath((message) => console.log(`[record-histories] ${message}`));
  const [env, bundle] = await Promise.all([createTimeSkippingEnv(serverPath), bundleWorkflows()]);
  try {
    // `npm run record-histories -- <path>…` records only those paths (a new one), leaving the other files as they are.
    const only = process.argv.slice(2);
    for (const path of PATHS) if (only.length === 0 || only.includes(path.name)) await record(env, bundle, path);
  } finally {
    await env.teardown();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`[record-histories] failed: ${error.stack ?? error.message}`);
    process.exit(1);
  },
);
