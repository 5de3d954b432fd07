import { setTimeout as sleep } from 'node:timers/promises';
import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { DeliveryPolicy } from '../contracts/delivery-policy';
import { DeliveriesRepository, DeliveryStatus } from '../db/deliveries.repository';
import { OutboxRepository } from '../db/outbox.repository';
import type { TenantScope } from '../db/subscriptions.repository';
import { BULK_REDRIVE_WORKFLOW, BulkRedriveWorkflow, DELIVERY_WORKFLOW, DeliveryWorkflow, DeliveryWorkflowInput } from '../../workflows/definitions';
import { deliveryStartOptions, firstRunInput } from './delivery-run-options';

/** How long a redrive waits for the run that dead-lettered the delivery to close before answering still_running. */
const PREVIOUS_RUN_GRACE_MS = 5_000;

export type RedriveOutcome =
  | { kind: 'redriven'; tenantId: string }
  | { kind: 'missing' }
  | { kind: 'still_running' }
  | { kind: 'not_dead_lettered'; status: DeliveryStatus };

/** Redrives of dead letters, one (the api) or many (the bulk-redrive workflow's activity). */
export class DeadLetterRedriver {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly policy: DeliveryPolicy,
    private readonly deliveries: DeliveriesRepository,
    private readonly outbox: OutboxRepository,
  ) {}

  /**
   * Claims a dead letter (a conditional update, so concurrent or repeated redrives, single or bulk, never start a
   * delivery twice), then starts a new run under the same workflow id with a fresh schedule and a TTL window
   * counted from now. A run Temporal refuses puts the claim back.
   */
  async redrive(deliveryId: string, scope: TenantScope): Promise<RedriveOutcome> {
    const claimed = await this.deliveries.beginRedrive(deliveryId, scope);
    if (!claimed) {
      const existing = await this.deliveries.get(deliveryId, scope);
      return existing ? { kind: 'not_dead_lettered', status: existing.status } : { kind: 'missing' };
    }
    const input: DeliveryWorkflowInput = {
      ...firstRunInput(claimed, this.policy),
      deadline: new Date(Date.now() + this.policy.ttlMs).toISOString(),
      redriveWindowMs: this.policy.ttlMs,
      firstAttempt: claimed.attempt_count + 1,
    };
    const startRun = () =>
      this.client.workflow.start<DeliveryWorkflow>(DELIVERY_WORKFLOW, {
        ...deliveryStartOptions(claimed, input, this.taskQueue),
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
    await this.outbox.markStarted([deliveryId]);
    return { kind: 'redriven', tenantId: claimed.tenant_id };
  }

  /** Starts the background job of a bulk redrive (one workflow per job id). */
  async startBulk(bulkRedriveId: string): Promise<void> {
    await this.client.workflow.start<BulkRedriveWorkflow>(BULK_REDRIVE_WORKFLOW, {
      taskQueue: this.taskQueue,
      workflowId: `bulk-redrive:${bulkRedriveId}`,
      args: [{ bulkRedriveId }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  }

  /** Whether the workflow's current run closes within PREVIOUS_RUN_GRACE_MS. */
  private async previousRunCloses(workflowId: string): Promise<boolean> {
    const handle = this.client.workflow.getHandle(workflowId);
    const deadline = Date.now() + PREVIOUS_RUN_GRACE_MS;
    while (Date.now() < deadline) {
      if ((await handle.describe()).status.name !== 'RUNNING') return true;
      await sleep(100);
    }
    return false;
  }
}
