/**
 * What the api, the worker and operators share about the delivery workflow: its input, its state, its
 * signals and query, and its search attributes. Sandbox-safe: no Node builtins.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { DeliveryStatus, EndedDeliveryStatus } from './delivery-status';

export interface DeliveryWorkflowInput {
  deliveryId: string;
  eventId: string;
  eventType: string;
  tenantId: string;
  subscriptionId: string;
  /** ISO time after which no attempt starts: occurred_at + TTL. */
  deadline: string;
  /**
   * Set on a redrive run: its deadline is this long after the run starts, on the workflow's own clock, so the
   * window does not depend on the clock of whoever asked for the redrive.
   */
  redriveWindowMs?: number;
  /** Entry n is the wait before attempt n+1 of this run; travels in the input so config changes never touch running workflows. */
  retryScheduleMs: number[];
  attemptTimeoutMs: number;
  /** Attempt numbers continue across redrives, so the receiver's header and the attempt log never repeat a number. */
  firstAttempt: number;
  /**
   * Set on every run started since attempts became local activities (inside the workflow task: no activity task
   * round trip, three history events fewer per attempt). A run without it was started by an earlier release and
   * keeps regular activity tasks, so its history replays unchanged. The flag travels in the input, like the
   * schedule, instead of a patched() marker that would cost every delivery one more history event.
   */
  localAttempts?: boolean;
}

export interface DeliveryState {
  status: DeliveryStatus;
  /** Attempts made in this run. */
  attemptsThisRun: number;
  lastAttempt: number | null;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  deadline: string;
  failureReason: string | null;
}

export interface DeliveryResult {
  status: EndedDeliveryStatus;
  attemptsThisRun: number;
  failureReason: string | null;
}

/**
 * The workflow task timeout a run needs so that one local attempt (its HTTP budget plus the reads and the record
 * around it) finishes within 80 % of it, the share after which the SDK would heartbeat the task. Capped at the
 * server's 120 s maximum; longer attempts then cost heartbeat events, never a failure.
 */
export function workflowTaskTimeoutMs(attemptTimeoutMs: number): number {
  return Math.min(120_000, Math.ceil(localAttemptTimeoutMs(attemptTimeoutMs) / 0.8 / 1000) * 1000);
}

/** The local attempt's own start-to-close bound: the HTTP budget plus room for its Postgres reads and record. */
export function localAttemptTimeoutMs(attemptTimeoutMs: number): number {
  return attemptTimeoutMs + 5_000;
}

export interface CancelRequest {
  reason?: string;
  requestedBy?: string;
}

/** Sent by the service when a subscription is disabled or deleted: a waiting delivery ends as a dead letter. */
export interface StopRequest {
  reason: 'subscription_disabled' | 'subscription_deleted';
}

/** Names kept short and plain so operators can type them in the Temporal UI and `temporal workflow signal`. */
export const cancelSignal = defineSignal<[CancelRequest?]>('cancel');
export const retryNowSignal = defineSignal<[]>('retryNow');
export const stopSignal = defineSignal<[StopRequest]>('stop');
export const stateQuery = defineQuery<DeliveryState>('state');

/**
 * The workflow types as the client sees them: started by name, so client code never loads workflow code, with
 * these signatures keeping arguments and results checked.
 */
export const DELIVERY_WORKFLOW = 'deliveryWorkflow';
export type DeliveryWorkflow = (input: DeliveryWorkflowInput) => Promise<DeliveryResult>;
export const BULK_REDRIVE_WORKFLOW = 'bulkRedriveWorkflow';
export type BulkRedriveWorkflow = (input: { bulkRedriveId: string }) => Promise<void>;

export const searchAttributes = {
  tenantId: defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD),
  eventType: defineSearchAttributeKey('EventType', SearchAttributeType.KEYWORD),
  eventId: defineSearchAttributeKey('EventId', SearchAttributeType.KEYWORD),
  subscriptionId: defineSearchAttributeKey('SubscriptionId', SearchAttributeType.KEYWORD),
  deliveryStatus: defineSearchAttributeKey('DeliveryStatus', SearchAttributeType.KEYWORD),
} as const;

export const SEARCH_ATTRIBUTE_KEYS = Object.values(searchAttributes);
