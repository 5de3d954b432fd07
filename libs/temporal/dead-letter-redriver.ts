import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { DeliveryStatus } from '../contracts/delivery-status';
import { ClaimedDelivery } from '../db/outbox.repository';
import { Db } from '../db/pool';
import type { TenantScope } from '../db/rows';
import {
  BULK_REDRIVE_WORKFLOW,
  BulkRedriveWorkflow,
  DELIVERY_WORKFLOW,
  DeliveryWorkflow,
} from '../contracts/delivery-workflow';
import { DeliveryRunDependencies, redriveRunInput, redriveStartOptions } from './delivery-run-options';

/** How long a redrive waits for the run that dead-lettered the delivery to close before answering still_running. */
const PREVIOUS_RUN_GRACE_MS = 5_000;

export type RedriveOutcome =
  | { kind: 'redriven'; tenantId: string }
  | { kind: 'missing' }
  | { kind: 'still_running' }
  | { kind: 'not_dead_lettered'; status: DeliveryStatus };

/**
 * How a caller runs a redrive's two steps: the api claims inside the transaction that records the operator action
 * (whose result is `Claim`) and adds the start's outcome to that action; the bulk redrive runs them as they are.
 */
export interface RedriveSteps<Claim> {
  claim(claim: (db?: Db) => Promise<ClaimedDelivery | undefined>): Promise<Claim | undefined>;
  start(claim: Claim, start: (claimed: ClaimedDelivery) => Promise<RedriveOutcome>): Promise<RedriveOutcome>;
}

const STEPS_AS_THEY_ARE: RedriveSteps<ClaimedDelivery> = {
  claim: (claim) => claim(),
  start: (claimed, start) => start(claimed),
};

/** Redrives of dead letters, one (the api) or many (the bulk-redrive workflow's activity). */
export class DeadLetterRedriver {
  constructor(private readonly deps: DeliveryRunDependencies) {}

  /** A redrive of one dead letter: its claim, then its run's start; or why it could not be claimed. */
  redrive(deliveryId: string, scope: TenantScope): Promise<RedriveOutcome>;
  redrive<Claim>(deliveryId: string, scope: TenantScope, steps: RedriveSteps<Claim>): Promise<RedriveOutcome>;
  async redrive(
    deliveryId: string,
    scope: TenantScope,
    steps: RedriveSteps<unknown> = STEPS_AS_THEY_ARE,
  ): Promise<RedriveOutcome> {
    const claim = await steps.claim((db) => this.claim(deliveryId, scope, db));
    return claim ? steps.start(claim, (claimed) => this.start(claimed)) : this.refusal(deliveryId, scope);
  }

  /**
   * Claims a dead letter (a conditional update, so concurrent or repeated redrives, single or bulk, never start a
   * delivery twice). On `db`, inside the caller's transaction (the operator action row is written with it). The
   * claim puts the row back in the outbox under a lease, so a redriver that dies before `start` is covered: a
   * relay starts the run once the lease has passed.
   */
  private claim(deliveryId: string, scope: TenantScope, db?: Db): Promise<ClaimedDelivery | undefined> {
    return this.deps.outbox.claimRedrive(deliveryId, scope, db);
  }

  /** Why a dead letter could not be claimed. */
  private async refusal(deliveryId: string, scope: TenantScope): Promise<RedriveOutcome> {
    const existing = await this.deps.deliveries.get(deliveryId, scope);
    return existing ? { kind: 'not_dead_lettered', status: existing.status } : { kind: 'missing' };
  }

  /**
   * Starts the claimed redrive's run under the same workflow id, with a fresh schedule and a TTL window counted
   * from now. A run Temporal refuses puts the claim back.
   */
  private async start(claimed: ClaimedDelivery): Promise<RedriveOutcome> {
    const startRun = async () =>
      (await this.deps.client.get()).workflow.start<DeliveryWorkflow>(
        DELIVERY_WORKFLOW,
        redriveStartOptions(claimed, redriveRunInput(claimed, this.deps.policy), this.deps.taskQueue),
      );
    try {
      await startRun().catch(async (error: unknown) => {
        // The row turns dead_lettered one workflow task before its run closes: a redrive sent in that moment waits
        // for the close instead of bouncing the operator.
        if (
          error instanceof WorkflowExecutionAlreadyStartedError &&
          (await this.previousRunCloses(claimed.workflow_id))
        )
          return startRun();
        throw error;
      });
    } catch (error) {
      await this.deps.outbox.abortRedrive(claimed.id);
      if (error instanceof WorkflowExecutionAlreadyStartedError) return { kind: 'still_running' };
      throw error;
    }
    await this.deps.outbox.markStarted([claimed.id]);
    return { kind: 'redriven', tenantId: claimed.tenant_id };
  }

  /** Starts the background job of a bulk redrive (one workflow per job id). */
  async startBulk(bulkRedriveId: string): Promise<void> {
    const client = await this.deps.client.get();
    await client.workflow.start<BulkRedriveWorkflow>(BULK_REDRIVE_WORKFLOW, {
      taskQueue: this.deps.taskQueue,
      workflowId: `bulk-redrive:${bulkRedriveId}`,
      args: [{ bulkRedriveId }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  }

  /** Whether the workflow's current run closes within PREVIOUS_RUN_GRACE_MS. */
  private async previousRunCloses(workflowId: string): Promise<boolean> {
    const handle = (await this.deps.client.get()).workflow.getHandle(workflowId);
    const deadline = Date.now() + PREVIOUS_RUN_GRACE_MS;
    while (Date.now() < deadline) {
      if ((await handle.describe()).status.name !== 'RUNNING') return true;
      await sleep(100);
    }
    return false;
  }
}
