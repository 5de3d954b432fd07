import type { WorkflowStartOptions } from '@temporalio/client';
import { DeliveryPolicy } from '../contracts/delivery-policy';
import { DeliveriesRepository } from '../db/deliveries.repository';
import { DeliveryToStart } from '../db/rows';
import { ClaimedDelivery, OutboxRepository } from '../db/outbox.repository';
import {
  DeliveryWorkflow,
  DeliveryWorkflowInput,
  searchAttributes,
  workflowTaskTimeoutMs,
} from '../contracts/delivery-workflow';
import type { OnDemandTemporalClient } from './client';

/** What starting, signalling and redriving a delivery's run needs: shared by the redriver and the signals. */
export interface DeliveryRunDependencies {
  client: Pick<OnDemandTemporalClient, 'get'>;
  taskQueue: string;
  policy: DeliveryPolicy;
  deliveries: DeliveriesRepository;
  outbox: OutboxRepository;
}

/** The input of a delivery's first run: ids only (the attempt reads the current URL and secrets), and the policy as of now. */
export function firstRunInput(row: DeliveryToStart, policy: DeliveryPolicy): DeliveryWorkflowInput {
  return {
    deliveryId: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    tenantId: row.tenant_id,
    subscriptionId: row.subscription_id,
    deadline: new Date(row.occurred_at.getTime() + policy.ttlMs).toISOString(),
    retryScheduleMs: policy.retryScheduleMs,
    attemptTimeoutMs: policy.attemptTimeoutMs,
    firstAttempt: 1,
    localAttempts: true,
  };
}

/**
 * How every run of a delivery workflow is started: its derived id (a second start of a running one is a no-op,
 * of a closed one refused), the search attributes operators filter on, and a task timeout that fits a local attempt.
 */
export function deliveryStartOptions(
  row: DeliveryToStart,
  input: DeliveryWorkflowInput,
  taskQueue: string,
): WorkflowStartOptions<DeliveryWorkflow> {
  return {
    taskQueue,
    workflowId: row.workflow_id,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    workflowTaskTimeout: workflowTaskTimeoutMs(input.attemptTimeoutMs),
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

/** The input of a redrive's run: a fresh schedule from the next attempt number, and a TTL window counted from now. */
export function redriveRunInput(row: ClaimedDelivery, policy: DeliveryPolicy): DeliveryWorkflowInput {
  return {
    ...firstRunInput(row, policy),
    deadline: new Date(Date.now() + policy.ttlMs).toISOString(),
    redriveWindowMs: policy.ttlMs,
    firstAttempt: row.attempt_count + 1,
  };
}

/** A redrive's run takes the workflow id of the run that closed; while a run of it is still open it is refused. */
export function redriveStartOptions(
  row: ClaimedDelivery,
  input: DeliveryWorkflowInput,
  taskQueue: string,
): WorkflowStartOptions<DeliveryWorkflow> {
  return {
    ...deliveryStartOptions(row, input, taskQueue),
    workflowIdConflictPolicy: 'FAIL',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  };
}
