/**
 * The ceiling: the bare Temporal stack running the product's own delivery workflow (same bundle, input, search
 * attributes and task timeout, started eagerly from a client sharing the worker's NativeConnection) with an
 * attempt that does nothing, on the same server the product uses. What the product reaches beside it is what its
 * own work (api, Postgres, HTTP, signing) costs.
 */
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { DEFAULT_DELIVERY_POLICY } from '../../libs/contracts/delivery-policy';
import { deliveryStartOptions, firstRunInput } from '../../libs/temporal/delivery-run-options';
import { DELIVERY_WORKFLOW, DeliveryWorkflow } from '../../libs/contracts/delivery-workflow';
import { WORKFLOW_SANDBOX_OPTIONS } from '../../apps/worker/src/workflow-bundle';
import type { AttemptOutcome } from '../../activities/delivery.activities';
import { childrenMatching, ownCpuMs, treeCpuMs } from './process-stats';
import { percentile } from './target';

export interface ProbeResult {
  workflows: number;
  seconds: number;
  perSecond: number;
  eagerShare: number;
  cpuMsPerWorkflow: { temporal: number; probeProcess: number; total: number };
}

interface ProbeTuning {
  workflowTaskSlots: number;
  localActivitySlots: number;
}

/** A worker of the product's workflows on a task queue of its own, whose no-op attempt calls `attempted`. */
async function withProbeWorker<T>(
  options: { temporalAddress: string; tuning: ProbeTuning },
  attempted: (deliveryId: string) => void,
  use: (start: (n: number) => Promise<{ eagerlyStarted: boolean }>) => Promise<T>,
): Promise<T> {
  const connection = await NativeConnection.connect({
    address: options.temporalAddress,
    grpcCompression: { codec: 'none' },
  });
  const taskQueue = `bench-probe-${Date.now()}`;
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('../../workflows/index'),
    ...WORKFLOW_SANDBOX_OPTIONS,
    activities: {
      attemptDelivery: async (input: { deliveryId: string }): Promise<AttemptOutcome> => {
        attempted(input.deliveryId);
        return { kind: 'delivered', statusCode: 200, error: null };
      },
      recordDeliveryState: async () => undefined,
    },
    maxConcurrentWorkflowTaskExecutions: options.tuning.workflowTaskSlots,
    maxConcurrentLocalActivityExecutions: options.tuning.localActivitySlots,
  });
  const client = new Client({ connection });
  const run = worker.run();
  try {
    return await use(async (n: number) => {
      const row = {
        id: `whdlv_probe_${n}`,
        event_id: `evt_probe_${taskQueue}_${n}`,
        subscription_id: 'whsub_probe',
        tenant_id: 'tnt_probe',
        event_type: 'user.signed_in',
        workflow_id: `probe:${taskQueue}:${n}`,
        occurred_at: new Date(),
      };
      return client.workflow.start<DeliveryWorkflow>(DELIVERY_WORKFLOW, {
        ...deliveryStartOptions(row, firstRunInput(row, DEFAULT_DELIVERY_POLICY), taskQueue),
        requestEagerStart: true,
      });
    });
  } finally {
    worker.shutdown();
    await run;
    await connection.close();
  }
}

const WARM_UP = -1;
const untilTrue = async (done: () => boolean, giveUpMs: number) => {
  const giveUpAt = performance.now() + giveUpMs;
  while (!done() && performance.now() < giveUpAt) await new Promise((resolve) => setTimeout(resolve, 20));
};

export async function runProbe(options: {
  temporalAddress: string;
  workflows: number;
  starters: number;
  tuning: ProbeTuning;
  /** How long after the last workflow task the server still works for the probe's runs (see Bench). */
  temporalDeferredMs: number;
}): Promise<ProbeResult> {
  let attempts = 0;
  let lastAttemptAt = 0;
  const [temporalPid] = childrenMatching(process.pid, /start-dev/);
  return withProbeWorker(
    options,
    () => {
      attempts += 1;
      lastAttemptAt = performance.now();
    },
    async (start) => {
      await start(WARM_UP); // the bundle loaded and the pollers up before the clock starts
      await untilTrue(() => attempts >= 1, 60_000);
      attempts = 0;
      const cpuBefore = { temporal: temporalPid ? treeCpuMs(temporalPid) : NaN, self: ownCpuMs() };
      const started = performance.now();
      let next = 0;
      let eager = 0;
      await Promise.all(
        Array.from({ length: options.starters }, async () => {
          while (next < options.workflows) {
            const handle = await start(next++);
            if (handle.eagerlyStarted) eager += 1;
          }
        }),
      );
      await untilTrue(() => attempts >= options.workflows, 600_000);
      const seconds = (lastAttemptAt - started) / 1000;
      // Let the last workflow tasks complete before reading the CPU they cost, and the server its deferred work.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const probeProcess = ownCpuMs() - cpuBefore.self;
      await new Promise((resolve) => setTimeout(resolve, options.temporalDeferredMs));
      const temporal = (temporalPid ? treeCpuMs(temporalPid) : NaN) - cpuBefore.temporal;
      return {
        workflows: attempts,
        seconds,
        perSecond: attempts / seconds,
        eagerShare: eager / options.workflows,
        cpuMsPerWorkflow: {
          temporal: temporal / attempts,
          probeProcess: probeProcess / attempts,
          total: (temporal + probeProcess) / attempts,
        },
      };
    },
  );
}

export interface ProbeLatency {
  rate: number;
  workflows: number;
  /** The eager start's call, and from its call to the attempt activity beginning: p50 and p99, ms. */
  startMs: { p50: number; p99: number };
  toAttemptMs: { p50: number; p99: number };
}

/**
 * The floor of the product's publish -> first attempt that Temporal sets: the same workflow started eagerly at
 * `rate` workflows/s, timed from the start's call to its (no-op) attempt beginning.
 */
export async function runProbeLatency(options: {
  temporalAddress: string;
  workflows: number;
  rate: number;
  tuning: ProbeTuning;
}): Promise<ProbeLatency> {
  const calledAt = new Map<string, number>();
  const toAttempt: number[] = [];
  const startCalls: number[] = [];
  return withProbeWorker(
    options,
    (deliveryId) => toAttempt.push(performance.now() - (calledAt.get(deliveryId) ?? NaN)),
    async (start) => {
      const timed = async (n: number) => {
        calledAt.set(`whdlv_probe_${n}`, performance.now());
        await start(n);
        startCalls.push(performance.now() - (calledAt.get(`whdlv_probe_${n}`) as number));
      };
      await timed(WARM_UP);
      await untilTrue(() => toAttempt.length >= 1, 60_000);
      toAttempt.length = 0;
      startCalls.length = 0;
      const started = performance.now();
      const calls: Promise<void>[] = [];
      for (let n = 0; n < options.workflows; n++) {
        const due = started + (n * 1000) / options.rate;
        if (due > performance.now()) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
        calls.push(timed(n));
      }
      await Promise.all(calls);
      await untilTrue(() => toAttempt.length >= options.workflows, 60_000);
      return {
        rate: options.rate,
        workflows: toAttempt.length,
        startMs: { p50: percentile(startCalls, 50), p99: percentile(startCalls, 99) },
        toAttemptMs: { p50: percentile(toAttempt, 50), p99: percentile(toAttempt, 99) },
      };
    },
  );
}
