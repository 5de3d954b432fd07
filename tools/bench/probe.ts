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

export interface ProbeResult {
  workflows: number;
  seconds: number;
  perSecond: number;
  eagerShare: number;
  cpuMsPerWorkflow: { temporal: number; probeProcess: number; total: number };
}

export async function runProbe(options: {
  temporalAddress: string;
  workflows: number;
  starters: number;
  tuning: { workflowTaskSlots: number; localActivitySlots: number };
}): Promise<ProbeResult> {
  const connection = await NativeConnection.connect({
    address: options.temporalAddress,
    grpcCompression: { codec: 'none' },
  });
  const taskQueue = `bench-probe-${Date.now()}`;
  let attempts = 0;
  let lastAttemptAt = 0;
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('../../workflows/index'),
    ...WORKFLOW_SANDBOX_OPTIONS,
    activities: {
      attemptDelivery: async (): Promise<AttemptOutcome> => {
        attempts += 1;
        lastAttemptAt = performance.now();
        return { kind: 'delivered', statusCode: 200, error: null };
      },
      recordDeliveryState: async () => undefined,
    },
    maxConcurrentWorkflowTaskExecutions: options.tuning.workflowTaskSlots,
    maxConcurrentLocalActivityExecutions: options.tuning.localActivitySlots,
  });
  const client = new Client({ connection });
  const [temporalPid] = childrenMatching(process.pid, /start-dev/);
  const run = worker.run();
  try {
    const start = async (n: number) => {
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
    };
    await start(-1); // warm-up: the bundle loaded and the pollers up before the clock starts
    while (attempts < 1) await new Promise((resolve) => setTimeout(resolve, 20));
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
    const giveUpAt = performance.now() + 600_000;
    while (attempts < options.workflows && performance.now() < giveUpAt)
      await new Promise((resolve) => setTimeout(resolve, 50));
    const seconds = (lastAttemptAt - started) / 1000;
    // Let the last workflow tasks complete before reading the CPU they cost.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const temporal = (temporalPid ? treeCpuMs(temporalPid) : NaN) - cpuBefore.temporal;
    const probeProcess = ownCpuMs() - cpuBefore.self;
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
  } finally {
    worker.shutdown();
    await run;
    await connection.close();
  }
}
