import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { DeliveryStatus, ENDED_DELIVERY_STATUSES, EndedDeliveryStatus } from '../contracts/delivery-status';
import { RedriveClaim } from '../db/outbox.repository';
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
  /** Not in a status the run may start from (not a dead letter for a redrive, still active for a resend). */
  | { kind: 'not_claimable'; status: DeliveryStatus };

/** What a new run may start from: a redrive takes dead letters; a resend any ended delivery, delivered included. */
const REDRIVE_FROM: readonly EndedDeliveryStatus[] = ['dead_lettered'];
const RESEND_FROM: readonly EndedDeliveryStatus[] = ENDED_DELIVERY_STATUSES;

/**
 * How a caller runs a redrive's two steps: the api claims inside the transaction that records the operator action
 * (whose result is `Claim`) and adds the start's outcome to that action; the bulk redrive runs them as they are.
 */
export interface RedriveSteps<Claim> {
  claim(claim: (db?: Db) => Promise<RedriveClaim | undefined>): Promise<Claim | undefined>;
  start(claim: Claim, start: (claimed: RedriveClaim) => Promise<RedriveOutcome>): Promise<RedriveOutcome>;
}

const STEPS_AS_THEY_ARE: RedriveSteps<RedriveClaim> = {
  claim: (claim) => claim(),
  start: (claimed, start) => start(claimed),
};

/**
 * New runs of ended deliveries under their own workflow ids: redrives of dead letters, one (the api) or many (the
 * bulk-redrive workflow's activity), and resends of any ended delivery (the api, a replay's activity).
 */
export class DeadLetterRedriver {
  constructor(private readonly deps: DeliveryRunDependencies) {}

  /** A redrive of one dead letter: its claim, then its run's start; or why it could not be claimed. */
  redrive(deliveryId: string, scope: TenantScope): Promise<RedriveOutcome>;
  redrive<Claim>(deliveryId: string, scope: TenantScope, steps: RedriveSteps<Claim>): Promise<RedriveOutcome>;
  redrive(deliveryId: string, scope: TenantScope, steps: RedriveSteps<unknown> = STEPS_AS_THEY_ARE) {
    return this.rerun(deliveryId, scope, REDRIVE_FROM, steps);
  }

  /** A resend of any ended delivery, delivered included: a new run whose attempts are numbered on from the last. */
  resend<Claim>(deliveryId: string, scope: TenantScope, steps: RedriveSteps<Claim>): Promise<RedriveOutcome> {
    return this.rerun(deliveryId, scope, RESEND_FROM, steps);
  }

  /**
   * Claims an ended delivery inside the caller's transaction `db` (a conditional update, so concurrent or repeated
   * claims, single or bulk, never start a delivery twice), for the caller to start its run when it has committed.
   */
  claimResend(deliveryId: string, scope: TenantScope, db: Db): Promise<RedriveClaim | undefined> {
    return this.deps.outbox.claimRedrive(deliveryId, scope, RESEND_FROM, db);
  }

  private async rerun(
    deliveryId: string,
    scope: TenantScope,
    from: readonly EndedDeliveryStatus[],
    steps: RedriveSteps<unknown>,
  ): Promise<RedriveOutcome> {
    // On `db`, inside the caller's transaction (the operator action row is written with it). The claim puts the row
    // back in the outbox under a lease, so a claimer that dies before `start` is covered: a relay starts the run
    // once the lease has passed.
    const claim = await steps.claim((db) => this.deps.outbox.claimRedrive(deliveryId, scope, from, db));
    return claim ? steps.start(claim, (claimed) => this.start(claimed)) : this.refusal(deliveryId, scope);
  }

  /** Why a delivery could not be claimed. */
  private async refusal(deliveryId: string, scope: TenantScope): Promise<RedriveOutcome> {
    const existing = await this.deps.deliveries.get(deliveryId, scope);
    return existing ? { kind: 'not_claimable', status: existing.status } : { kind: 'missing' };
  }

  /**
   * Starts the claimed run under the same workflow id, with a fresh schedule and a TTL window counted from now. A
   * run Temporal refuses puts the claim back.
   */
  async start(claimed: RedriveClaim): Promise<RedriveOutcome> {
    const startRun = async () =>
      (await this.deps.client.get()).workflow.start<DeliveryWorkflow>(
        DELIVERY_WORKFLOW,
        redriveStartOptions(claimed, redriveRunInput(claimed, this.deps.policy), this.deps.taskQueue),
      );
    try {
      await startRun().catch(async (error: unknown) => {
        // The row turns ended one workflow task before its run closes: a redrive sent in that moment waits
        // for the close instead of bouncing the operator.
        if (
          error instanceof WorkflowExecutionAlreadyStartedError &&
          (await this.previousRunCloses(claimed.workflow_id))
        )
          return startRun();
        throw error;
      });
    } catch (error) {
      await this.deps.outbox.abortRedrive(claimed);
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
