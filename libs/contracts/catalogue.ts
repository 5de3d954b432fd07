/** The seed's event catalogue: the only event types a publisher may send and a subscription may name. */
export const EVENT_TYPES = [
  'user.signed_in',
  'user.signed_out',
  'user.sign_in_failed',
  'user.mfa_required',
  'user.mfa_succeeded',
  'user.mfa_failed',
  'user.signed_up',
  'user.updated',
  'user.disabled',
  'user.enabled',
  'user.deleted',
  'user.email_verified',
  'mfa.factor_added',
  'mfa.factor_removed',
  'mfa.backup_codes_regenerated',
  'application.created',
  'application.updated',
  'application.secret_rotated',
  'application.disabled',
  'application.deleted',
  'federation.connection_added',
  'federation.sso_completed',
  'federation.sso_failed',
  'security.brute_force_detected',
  'security.token_reuse_detected',
  'security.breach_incident_opened',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

const eventTypeSet: ReadonlySet<string> = new Set(EVENT_TYPES);
export const EVENT_CATEGORIES: readonly string[] = [...new Set(EVENT_TYPES.map((t) => t.split('.')[0]))];

export function isEventType(value: string): value is EventType {
  return eventTypeSet.has(value);
}

/** A subscription filter entry: an exact catalogue name, `category.*`, or `*`. */
export function isEventTypeFilter(value: string): boolean {
  if (value === '*') return true;
  if (value.endsWith('.*')) return EVENT_CATEGORIES.includes(value.slice(0, -2));
  return isEventType(value);
}

/**
 * The filter entries that select an event type. Matching is then a plain array overlap, which Postgres
 * answers from the subscription's `event_types` column (`&&`) without loading every subscription.
 */
export function filterEntriesMatching(eventType: EventType): string[] {
  return [eventType, `${eventType.split('.')[0]}.*`, '*'];
}
