import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { DeliveryPolicy } from '../contracts/delivery-policy';
import { ClaimedDelivery, OutboxRow } from '../db/outbox.repository';
import { withTraceParent } from '../observability/trace-context';
import { DELIVERY_WORKFLOW, DeliveryWorkflow } from '../contracts/delivery-workflow';
import { deliveryStartOptions, firstRunInput, redriveRunInput, redriveStartOptions } from './delivery-run-options';

export interface StartFailureLog {
  warn(message: string): void;
}

export interface RunsStarted {
  /** Now known to Temporal (started here, or already there). */
  started: string[];
  /** Not started (Temporal refused or unreachable): left to the next relay pass. */
  failed: string[];
  /** How many of `started` the server handed straight back to this process's worker (eager start). */
  eager: number;
}

/**
 * Starts the runs of claimed outbox rows: a delivery's first run, or the run of a redrive whose redriver died
 * between its claim and its start. With `eager`, the client shares its NativeConnection with a worker of the task
 * queue in this process, and the server answers the start with the run's first workflow task, so the first
 * attempt begins without a round trip through matching (the SDK falls back to a normal start when the worker has
 * no free slot).
 */
export class OutboxRunStarter {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly policy: DeliveryPolicy,
    private readonly log: StartFailureLog,
    private readonly eager: boolean,
  ) {}

  async start(rows: OutboxRow[]): Promise<RunsStarted> {
    const outcome: RunsStarted = { started: [], failed: [], eager: 0 };
    await Promise.all(
      rows.map(async (row) => {
        try {
          // Traced: the start (and so the run and its attempts) continues the publish's trace.
          const handle = await withTraceParent(row.trace_parent, () =>
            this.client.workflow.start<DeliveryWorkflow>(DELIVERY_WORKFLOW, {
              ...this.startOptions(row),
              requestEagerStart: this.eager,
            }),
          );
          outcome.started.push(row.id);
          if (handle.eagerlyStarted) outcome.eager += 1;
        } catch (error) {
          // A first run: started before its row was marked. A redrive: its claim outlived its lease only with the
          // previous run long closed, so the open run is the redrive's own.
          if (error instanceof WorkflowExecutionAlreadyStartedError) outcome.started.push(row.id);
          else {
            outcome.failed.push(row.id);
            this.log.warn(
              `workflow start for delivery ${row.id} failed, the outbox relay will retry: ${(error as Error).message}`,
            );
          }
        }
      }),
    );
    return outcome;
  }

  private startOptions(row: ClaimedDelivery) {
    return row.redrive_count > 0
      ? redriveStartOptions(row, redriveRunInput(row, this.policy), this.taskQueue)
      : deliveryStartOptions(row, firstRunInput(row, this.policy), this.taskQueue);
  }
}
