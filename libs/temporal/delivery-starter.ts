import { Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { DeliveryPolicy } from '../contracts/delivery-policy';
import { DeliveriesRepository, DeliveryStatus } from '../db/deliveries.repository';
import type { TenantScope } from '../db/subscriptions.repository';
import { DeliveryToStart } from '../db/events.repository';
import { CancelRequest, cancelSignal, DeliveryWorkflowInput, retryNowSignal, searchAttributes, StopRequest, stopSignal } from '../../workflows/definitions';
import type { bulkRedriveWorkflow } from '../../workflows/bulk-redrive.workflow';
import type { deliveryWorkflow } from '../../workflows/delivery.workflow';

/** By name, so the api never loads workflow code; the type keeps args and result checked. */
const DELIVERY_WORKFLOW = 'deliveryWorkflow';
type DeliveryWorkflow = typeof deliveryWorkflow;

export class DeliveryNotActiveError extends Error {
  constructor(readonly deliveryId: string) {
    super(`delivery ${deliveryId} has ended; a dead letter can be redriven`);
  }
}

/** Signals sent at once when a subscription goes away with many deliveries waiting. */
const STOP_CONCURRENCY = 16;

/** How long a redrive waits for the run that dead-lettered the delivery to close before answering still_running. */
const PREVIOUS_RUN_GRACE_MS = 5_000;

export type RedriveOutcome =
  | { kind: 'redriven'; tenantId: string }
  | { kind: 'missing' }
  | { kind: 'still_running' }
  | { kind: 'not_dead_lettered'; status: DeliveryStatus };

export interface StartFailureLog {
  warn(message: string): void;
}

/**
 * The one place that turns delivery rows into workflow runs and operator actions into signals, for the api
 * (fast path after commit), the worker's outbox sweeper and redrives alike.
 */
export class DeliveryStarter {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly policy: DeliveryPolicy,
    private readonly deliveries: DeliveriesRepository,
    private readonly log: StartFailureLog,
  ) {}

  /**
   * Starts each delivery's workflow unless it exists (running: USE_EXISTING; closed: REJECT_DUPLICATE) and marks
   * the rows; a start that fails stays unmarked for the sweeper. Returns how many are now known to Temporal.
   */
  async startAll(rows: DeliveryToStart[]): Promise<number> {
    const started: string[] = [];
    await Promise.all(
      rows.map(async (row) => {
        try {
          await this.client.workflow.start<DeliveryWorkflow>(DELIVERY_WORKFLOW, this.startOptions(row, this.firstRunInput(row)));
          started.push(row.id);
        } catch (error) {
          if (error instanceof WorkflowExecutionAlreadyStartedError) started.push(row.id);
          else this.log.warn(`workflow start for delivery ${row.id} failed, the outbox sweeper will retry: ${(error as Error).message}`);
        }
      }),
    );
    await this.deliveries.markStarted(started);
    return started.length;
  }

  /**
   * Redrives a dead letter: claims it (a conditional update, so concurrent or repeated redrives, single or bulk,
   * never start a delivery twice), then starts a new run under the same workflow id with a fresh schedule and a
   * TTL window counted from now. A run Temporal refuses puts the claim back.
   */
  async redriveDeadLetter(deliveryId: string, scope: TenantScope): Promise<RedriveOutcome> {
    const claimed = await this.deliveries.beginRedrive(deliveryId, scope);
    if (!claimed) {
      const existing = await this.deliveries.get(deliveryId, scope);
      return existing ? { kind: 'not_dead_lettered', status: existing.status } : { kind: 'missing' };
    }
    const input: DeliveryWorkflowInput = {
      ...this.firstRunInput(claimed),
      deadline: new Date(Date.now() + this.policy.ttlMs).toISOString(),
      redriveWindowMs: this.policy.ttlMs,
      firstAttempt: claimed.attempt_count + 1,
    };
    const startRun = () =>
      this.client.workflow.start<DeliveryWorkflow>(DELIVERY_WORKFLOW, {
        ...this.startOptions(claimed, input),
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      });
    try {
      await startRun().catch(async (error: unknown) => {
        // The row turns dead_lettered one workflow task before its run closes: a redrive sent in that moment waits
        // for the close instead of bouncing the operator.
        if (error instanceof WorkflowExecutionAlreadyStartedError && (await this.previousRunCloses(claimed.workflow_id))) return startRun();
        throw error;
      });
    } catch (error) {
      await this.deliveries.abortRedrive(deliveryId);
      if (error instanceof WorkflowExecutionAlreadyStartedError) return { kind: 'still_running' };
      throw error;
    }
    await this.deliveries.markStarted([deliveryId]);
    return { kind: 'redriven', tenantId: claimed.tenant_id };
  }

  /** Starts the background job of a bulk redrive (one workflow per job id). */
  async startBulkRedrive(bulkRedriveId: string): Promise<void> {
    await this.client.workflow.start<typeof bulkRedriveWorkflow>('bulkRedriveWorkflow', {
      taskQueue: this.taskQueue,
      workflowId: `bulk-redrive:${bulkRedriveId}`,
      args: [{ bulkRedriveId }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  }

  /** Signals go through signal-with-start so a delivery whose workflow the outbox has not started yet still obeys. */
  async cancel(row: DeliveryToStart & { attempt_count: number }, request: CancelRequest): Promise<void> {
    await this.signalWithStart(row, cancelSignal.name, [request]);
  }

  async retryNow(row: DeliveryToStart & { attempt_count: number }): Promise<void> {
    await this.signalWithStart(row, retryNowSignal.name, []);
  }

  /**
   * Ends every waiting delivery of a subscription that was disabled or deleted, as a dead letter with that reason.
   * One already ended (or never started: its attempt checks the subscription) is left as it is.
   */
  async stopWaitingDeliveries(subscriptionId: string, request: StopRequest): Promise<number> {
    const rows = await this.deliveries.activeForSubscription(subscriptionId);
    for (let i = 0; i < rows.length; i += STOP_CONCURRENCY) {
      await Promise.all(
        rows.slice(i, i + STOP_CONCURRENCY).map(async (row) => {
          try {
            await this.client.workflow.getHandle(row.workflow_id).signal(stopSignal, request);
          } catch (error) {
            if (!(error instanceof WorkflowNotFoundError)) throw error;
          }
        }),
      );
    }
    return rows.length;
  }

  /** Whether the workflow's current run closes within PREVIOUS_RUN_GRACE_MS. */
  private async previousRunCloses(workflowId: string): Promise<boolean> {
    const handle = this.client.workflow.getHandle(workflowId);
    const deadline = Date.now() + PREVIOUS_RUN_GRACE_MS;
    while (Date.now() < deadline) {
      if ((await handle.describe()).status.name !== 'RUNNING') return true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  }

  private async signalWithStart(row: DeliveryToStart & { attempt_count: number }, signal: string, signalArgs: unknown[]): Promise<void> {
    try {
      await this.client.workflow.signalWithStart<DeliveryWorkflow, unknown[]>(DELIVERY_WORKFLOW, {
        ...this.startOptions(row, { ...this.firstRunInput(row), firstAttempt: row.attempt_count + 1 }),
        signal,
        signalArgs,
      });
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError || error instanceof WorkflowNotFoundError) {
        throw new DeliveryNotActiveError(row.id);
      }
      throw error;
    }
    await this.deliveries.markStarted([row.id]);
  }

  private firstRunInput(row: DeliveryToStart): DeliveryWorkflowInput {
    return {
      deliveryId: row.id,
      eventId: row.event_id,
      eventType: row.event_type,
      tenantId: row.tenant_id,
      subscriptionId: row.subscription_id,
      deadline: new Date(row.occurred_at.getTime() + this.policy.ttlMs).toISOString(),
      retryScheduleMs: this.policy.retryScheduleMs,
      attemptTimeoutMs: this.policy.attemptTimeoutMs,
      firstAttempt: 1,
    };
  }

  private startOptions(row: DeliveryToStart, input: DeliveryWorkflowInput) {
    return {
      taskQueue: this.taskQueue,
      workflowId: row.workflow_id,
      args: [input] as [DeliveryWorkflowInput],
      workflowIdConflictPolicy: 'USE_EXISTING' as const,
      workflowIdReusePolicy: 'REJECT_DUPLICATE' as const,
      typedSearchAttributes: [
        { key: searchAttributes.tenantId, value: row.tenant_id },
        { key: searchAttributes.eventType, value: row.event_type },
        { key: searchAttributes.eventId, value: row.event_id },
        { key: searchAttributes.subscriptionId, value: row.subscription_id },
        { key: searchAttributes.deliveryStatus, value: 'pending' },
      ],
      staticSummary: `${row.event_type} → ${row.subscription_id}`,
    };
  }
}
