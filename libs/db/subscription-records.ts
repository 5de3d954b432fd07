import { Ordering } from '../contracts/ordering-key';
import { ReceiverCredentials } from '../contracts/receiver-credentials';
import { CredentialChanges, NewCredentials, ReceiverCredentialsView } from './receiver-credentials';
import { SubscriptionKind } from './rows';

/* What the subscriptions repository takes and answers. */

export interface SubscriptionView extends ReceiverCredentialsView {
  id: string;
  tenant_id: string;
  url: string;
  event_types: string[];
  description: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  /** Attempts in flight at once, across every worker; null: the configured default (SUBSCRIPTION_MAX_IN_FLIGHT). */
  max_in_flight: number | null;
  /** Attempt starts per second, across every worker; null: the configured default (SUBSCRIPTION_MAX_PER_SECOND). */
  max_per_second: number | null;
  /** per_entity: the deliveries of one ordering key are sent one at a time, in publish order. */
  ordering: Ordering;
  created_at: Date;
  updated_at: Date;
  /** Set while a run of failures that was warned about goes on; disables_at null: it will not be disabled by it. */
  failing_warning: { failing_since: string; warned_at: string; disables_at: string | null } | null;
}

/** What an attempt needs: where to send and with which secrets; deleted rows included so the attempt can stop cleanly. */
export interface SubscriptionTarget {
  id: string;
  tenantId: string;
  kind: SubscriptionKind;
  url: string;
  enabled: boolean;
  deleted: boolean;
  /** Valid signing secrets, newest first. */
  signingSecrets: string[];
  /** What the receiver's front door asks of each attempt, opened. */
  credentials: ReceiverCredentials;
}

export interface NewSubscription extends NewCredentials {
  id: string;
  tenantId: string;
  url: string;
  eventTypes: string[];
  description: string | null;
  /** false: created disabled (reason CREATED_DISABLED_REASON), tested before it goes live; absent: enabled. */
  enabled?: boolean;
  signingSecret: string;
  /** Absent or null: the configured default. */
  maxInFlight?: number | null;
  maxPerSecond?: number | null;
  /** Absent: none. */
  ordering?: Ordering;
  /** A listen session, which ends this long from now unless kept alive; absent: a subscription POSTing to its URL. */
  listenTtlMs?: number;
}

export interface SubscriptionChanges extends CredentialChanges {
  url?: string;
  eventTypes?: string[];
  description?: string | null;
  /** null puts the configured default back; undefined leaves the limit as it is. */
  maxInFlight?: number | null;
  maxPerSecond?: number | null;
  ordering?: Ordering;
}
