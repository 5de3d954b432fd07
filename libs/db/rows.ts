/**
 * The row shapes and column lists that more than one repository (or a reader of their rows) uses: one home each,
 * so a repository never reaches into another's internals for them.
 */
import { DeliveryStatus } from '../contracts/delivery-status';
import { StoredEvent } from '../contracts/envelope';
import type { StoredCredentials } from './receiver-credentials';

/** undefined: every tenant (service keys); a tenant id: only that tenant's rows, anything else reads as missing. */
export type TenantScope = string | undefined;

/**
 * "Its run is not started yet", for a statement that finds its deliveries by id (`alias`: the deliveries' alias in
 * it, if any). Written so it does not match the predicate of the outbox's partial indexes (`workflow_started_at IS
 * NULL`): while a burst fills the outbox, the table's statistics still count it small, and the planner would read
 * the whole outbox index for the few ids (and a prepared statement keep that plan) instead of their primary key.
 */
export const notStartedById = (alias?: string) =>
  `(${alias === undefined ? '' : `${alias}.`}workflow_started_at IS NULL) IS NOT FALSE`;

/** A delivery row that still needs (or had) its workflow started: everything the workflow input carries. */
export interface DeliveryToStart {
  id: string;
  event_id: string;
  subscription_id: string;
  tenant_id: string;
  event_type: string;
  workflow_id: string;
  occurred_at: Date;
}

/** DeliveryToStart's columns, from deliveries `d` joined to their events `e`. */
export const DELIVERY_TO_START_COLUMNS =
  'd.id, d.event_id, d.subscription_id, d.tenant_id, d.event_type, d.workflow_id, e.occurred_at';

export interface EventRow {
  id: string;
  tenant_id: string;
  tenant_slug: string | null;
  event_type: StoredEvent['event_type'];
  occurred_at: Date;
  actor: StoredEvent['actor'] | null;
  data: StoredEvent['data'];
  received_at: Date;
}

export const EVENT_COLUMNS = 'id, tenant_id, tenant_slug, event_type, occurred_at, actor, data, received_at';

export function toStoredEvent(row: Omit<EventRow, 'received_at'>): StoredEvent {
  const event: StoredEvent = {
    event_id: row.id,
    event_type: row.event_type,
    occurred_at: row.occurred_at.toISOString(),
    tenant: row.tenant_slug === null ? { id: row.tenant_id } : { id: row.tenant_id, slug: row.tenant_slug },
    data: row.data,
  };
  if (row.actor !== null) event.actor = row.actor;
  return event;
}

/** A subscription POSTs to its URL; a listen session hands its attempts to the command-line tool that opened it. */
export type SubscriptionKind = 'webhook' | 'listen';

/** The columns of a SubscriptionTarget, read from subscriptions aliased `s`, for `toTarget`. */
export const TARGET_COLUMNS = `s.id, s.tenant_id, s.kind, s.url, s.enabled, s.deleted_at IS NOT NULL AS deleted,
  s.headers, s.oauth2, s.tls_client,
  (SELECT array_agg(x.secret ORDER BY x.created_at DESC) FROM subscription_secrets x
    WHERE x.subscription_id = s.id AND (x.expires_at IS NULL OR x.expires_at > clock_timestamp())) AS secrets`;

export interface TargetRow extends StoredCredentials {
  id: string;
  tenant_id: string;
  kind: SubscriptionKind;
  url: string;
  enabled: boolean;
  deleted: boolean;
  secrets: string[] | null;
}

// The values of subscriptions.disabled_reason that an attempt writes itself; an operator's reason is their own text.
/** When the receiver answered 410 Gone (Standard Webhooks: the endpoint is gone for good). */
export const GONE_DISABLE_REASON = 'receiver answered 410 Gone';
/** When every attempt failed for SUBSCRIPTION_FAILURE_DISABLE_AFTER (its start is in the event and the row's failing_since). */
export const FAILING_DISABLE_REASON = 'failing';

/** When the subscription was created with `enabled: false`, to be tested before it goes live. */
export const CREATED_DISABLED_REASON = 'created disabled';

/** Which deliveries a listing or a bulk redrive takes (every field optional: absent, no condition). */
export interface DeliveryFilter {
  tenantId?: string;
  status?: DeliveryStatus;
  eventType?: string;
  subscriptionId?: string;
  failureReason?: string;
  /** Dead-lettered at or after / before these times. */
  deadLetteredFrom?: Date;
  deadLetteredTo?: Date;
  /** Created (published) at or after / before these times. */
  createdFrom?: Date;
  createdTo?: Date;
}

/** An ISO 8601 UTC time with milliseconds, as every other time the API answers. */
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The warning of the run of failures going on, if it was warned about (webhook.subscription.failing): the banner's facts. */
const SUBSCRIPTION_FAILING_WARNING = `CASE WHEN failing_warned_for = failing_since THEN json_build_object(
    'failing_since', ${iso('failing_since')}, 'warned_at', ${iso('failing_warned_at')},
    'disables_at', ${iso('failing_disables_at')}) END AS failing_warning`;

/** The columns of a subscription as the API answers it. */
export const SUBSCRIPTION_VIEW_COLUMNS =
  'id, tenant_id, url, event_types, description, enabled, disabled_reason, max_in_flight, max_per_second, ordering, ' +
  'created_at, updated_at, headers, oauth2, tls_client, ' +
  SUBSCRIPTION_FAILING_WARNING;
