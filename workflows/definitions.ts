/**
 * What the api, the worker and operators share about the delivery workflow: its input, its state, its
 * signals and query, and its search attributes. Sandbox-safe: no Node builtins.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

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
}

export type WorkflowDeliveryStatus = 'pending' | 'attempting' | 'retry_scheduled' | 'delivered' | 'dead_lettered' | 'cancelled';

export interface DeliveryState {
  status: WorkflowDeliveryStatus;
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
  status: 'delivered' | 'dead_lettered' | 'cancelled';
  attemptsThisRun: number;
  failureReason: string | null;
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

export const searchAttributes = {
  tenantId: defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD),
  eventType: defineSearchAttributeKey('EventType', SearchAttributeType.KEYWORD),
  eventId: defineSearchAttributeKey('EventId', SearchAttributeType.KEYWORD),
  subscriptionId: defineSearchAttributeKey('SubscriptionId', SearchAttributeType.KEYWORD),
  deliveryStatus: defineSearchAttributeKey('DeliveryStatus', SearchAttributeType.KEYWORD),
} as const;

export const SEARCH_ATTRIBUTE_KEYS = Object.values(searchAttributes);
