import { EventType, isOperationalEventType } from './catalogue';
import type { EventActor, StoredEvent } from './envelope';
import { newEventId } from './ids';

/**
 * The operational events (`webhook.*`): facts about a tenant's own subscriptions and deliveries, in the same
 * envelope as every event. Ids of the ones an activity emits derive from what caused them, so an activity retried
 * after an infrastructure fault emits the same event again, which the publish statement takes as a no-op.
 */

/** Why a subscription was disabled, as `webhook.subscription.disabled` says it. */
export type DisableReason = 'gone' | 'failing' | 'operator';

/** The attempt that disabled a subscription by itself: its receiver answered 410 Gone, or its run of failures lasted too long. */
export interface AutomaticDisable {
  reason: Exclude<DisableReason, 'operator'>;
  deliveryId: string;
  attempt: number;
  /** When the subscription's run of failures began; null when the attempt was not tracked (an operational event's). */
  failingSince: Date | null;
}

/** Dead-letter reasons that emit `webhook.delivery.dead_lettered`; a disable or delete already says why its waiting deliveries ended. */
const REPORTED_DEAD_LETTER_REASONS: ReadonlySet<string> = new Set(['exhausted', 'expired']);

const SYSTEM: EventActor = { kind: 'system' };

function operationalEvent(
  eventId: string,
  eventType: EventType,
  tenantId: string,
  actor: EventActor,
  data: Record<string, unknown>,
  now: Date,
): StoredEvent {
  return {
    event_id: eventId,
    event_type: eventType,
    occurred_at: now.toISOString(),
    tenant: { id: tenantId },
    actor,
    data,
  };
}

export function subscriptionDisabledEvent(
  disabled: { tenantId: string; subscriptionId: string; message: string; actor: string; waitingStopped: number },
  cause: AutomaticDisable | undefined,
  now: Date,
): StoredEvent {
  const data: Record<string, unknown> = {
    subscription: { id: disabled.subscriptionId },
    reason: cause?.reason ?? 'operator',
    message: disabled.message,
    waiting_deliveries_stopped: disabled.waitingStopped,
  };
  if (cause?.reason === 'failing' && cause.failingSince !== null) data.failing_since = cause.failingSince.toISOString();
  return operationalEvent(
    disabledEventId(disabled.subscriptionId, cause),
    'webhook.subscription.disabled',
    disabled.tenantId,
    cause === undefined ? { kind: 'api_key', id: disabled.actor } : SYSTEM,
    data,
    now,
  );
}

/**
 * An operator's disable happens once per request. An automatic one may be retried with its activity, and every
 * attempt in flight when the subscription turned failing (or gone) disables it too: they all name the run of
 * failures, so they store one event; an attempt outside failure tracking names itself.
 */
function disabledEventId(subscriptionId: string, cause: AutomaticDisable | undefined): string {
  if (cause === undefined) return newEventId();
  return cause.failingSince === null
    ? `evt_wh_disabled_${cause.deliveryId}_${cause.attempt}`
    : `evt_wh_disabled_${subscriptionId}_${cause.failingSince.getTime()}`;
}

/** A delivery as its ending reports it (the dead-letter operational event), as the deliveries row has it. */
export interface EndedDelivery {
  id: string;
  event_id: string;
  event_type: string;
  subscription_id: string;
  tenant_id: string;
  attempt_count: number;
  redrive_count: number;
}

/**
 * The dead letter's event, or undefined when its reason is not reported (see REPORTED_DEAD_LETTER_REASONS) or it
 * was itself the delivery of an operational event (no event about an event about an event…).
 */
export function deadLetteredEvent(delivery: EndedDelivery, reason: string, now: Date): StoredEvent | undefined {
  if (isOperationalEventType(delivery.event_type) || !REPORTED_DEAD_LETTER_REASONS.has(reason)) return undefined;
  const data = {
    delivery: {
      id: delivery.id,
      event_id: delivery.event_id,
      event_type: delivery.event_type,
      subscription_id: delivery.subscription_id,
      attempts: delivery.attempt_count,
    },
    reason,
  };
  // One per run: a redrive that dead-letters again is a new fact.
  return operationalEvent(
    `evt_wh_dead_${delivery.id}_${delivery.redrive_count}`,
    'webhook.delivery.dead_lettered',
    delivery.tenant_id,
    SYSTEM,
    data,
    now,
  );
}

/** One per run of failures: the run is named by when it began. */
export function subscriptionRecoveredEvent(
  subscription: { id: string; tenantId: string },
  failingSince: Date,
  now: Date,
): StoredEvent {
  const data = {
    subscription: { id: subscription.id },
    failing_since: failingSince.toISOString(),
    recovered_at: now.toISOString(),
  };
  return operationalEvent(
    `evt_wh_recovered_${subscription.id}_${failingSince.getTime()}`,
    'webhook.subscription.recovered',
    subscription.tenantId,
    SYSTEM,
    data,
    now,
  );
}

/** One per certificate: named by the subscription and the certificate's expiry. */
export function certificateExpiringEvent(
  certificate: { subscriptionId: string; tenantId: string; subject: string; issuer: string; expiresAt: Date },
  now: Date,
): StoredEvent {
  const data = {
    subscription: { id: certificate.subscriptionId },
    certificate: {
      subject: certificate.subject,
      issuer: certificate.issuer,
      expires_at: certificate.expiresAt.toISOString(),
    },
  };
  return operationalEvent(
    `evt_wh_cert_expiring_${certificate.subscriptionId}_${certificate.expiresAt.getTime()}`,
    'webhook.certificate.expiring',
    certificate.tenantId,
    SYSTEM,
    data,
    now,
  );
}

/**
 * Whether a run of failures begun at `failingSince` has lasted `afterMs` (0: never): long enough to disable its
 * subscription (SUBSCRIPTION_FAILURE_DISABLE_AFTER), or to warn about it (SUBSCRIPTION_FAILING_WARN_AFTER).
 */
export function failingTooLong(failingSince: Date | null, nowMs: number, afterMs: number): failingSince is Date {
  return afterMs > 0 && failingSince !== null && nowMs - failingSince.getTime() >= afterMs;
}

/** Why a subscription is warned: a delivery of its run of failures was dead-lettered, or the run lasted long enough. */
export type FailingWarningReason = 'dead_lettered' | 'failing';

/**
 * The warning before the axe: one per run of failures (its id names the run), saying when the subscription will be
 * disabled if nothing succeeds before (null when SUBSCRIPTION_FAILURE_DISABLE_AFTER is 0).
 */
export function subscriptionFailingEvent(
  subscription: { id: string; tenantId: string },
  failingSince: Date,
  reason: FailingWarningReason,
  disablesAt: Date | null,
  now: Date,
): StoredEvent {
  const data = {
    subscription: { id: subscription.id },
    failing_since: failingSince.toISOString(),
    reason,
    disables_at: disablesAt?.toISOString() ?? null,
    disables_in_seconds:
      disablesAt === null ? null : Math.max(0, Math.round((disablesAt.getTime() - now.getTime()) / 1000)),
  };
  return operationalEvent(
    `evt_wh_failing_${subscription.id}_${failingSince.getTime()}`,
    'webhook.subscription.failing',
    subscription.tenantId,
    SYSTEM,
    data,
    now,
  );
}

/** When a run of failures begun at `failingSince` disables its subscription; null when it never does. */
export function disablesAt(failingSince: Date, disableAfterMs: number): Date | null {
  return disableAfterMs > 0 ? new Date(failingSince.getTime() + disableAfterMs) : null;
}
