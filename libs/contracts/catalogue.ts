/**
 * The event catalogue: the product contract's 26 types, which publishers send, and the service's own operational events
 * (`webhook.*`), which it emits about a tenant's subscriptions and deliveries and which no one may publish.
 */
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
  'webhook.subscription.disabled',
  'webhook.delivery.dead_lettered',
  'webhook.subscription.recovered',
  'webhook.certificate.expiring',
  'webhook.subscription.failing',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

const eventTypeSet: ReadonlySet<string> = new Set(EVENT_TYPES);
export const EVENT_CATEGORIES: readonly string[] = [...new Set(EVENT_TYPES.map((t) => t.split('.')[0]))];

export function isEventType(value: string): value is EventType {
  return eventTypeSet.has(value);
}

/** The category of the operational events, which the service emits itself. */
export const OPERATIONAL_CATEGORY = 'webhook';

export function isOperationalEventType(eventType: string): boolean {
  return eventType.startsWith(`${OPERATIONAL_CATEGORY}.`);
}

/** The types a publisher may send: every catalogue type but the operational ones. */
export const PUBLISHABLE_EVENT_TYPES = EVENT_TYPES.filter((type) => !isOperationalEventType(type));

/** A subscription filter entry: an exact catalogue name, `category.*`, or `*`. */
export function isEventTypeFilter(value: string): boolean {
  if (value === '*') return true;
  if (value.endsWith('.*')) return EVENT_CATEGORIES.includes(value.slice(0, -2));
  return isEventType(value);
}

/** A filter entry that selects only operational events: `webhook.*` or one of their exact names. */
export function isOperationalFilter(value: string): boolean {
  return value === `${OPERATIONAL_CATEGORY}.*` || (isEventType(value) && isOperationalEventType(value));
}

/**
 * The filter entries that select an event type. Matching is then a plain array overlap, which Postgres
 * answers from the subscription's `event_types` column (`&&`) without loading every subscription. `*` selects
 * every publishable type but no operational one: those go only to subscriptions that name them (`webhook.*`
 * or an exact name), so a receiver that took everything is not sent a new kind of event unasked.
 */
export function filterEntriesMatching(eventType: EventType): string[] {
  const category = `${eventType.split('.')[0]}.*`;
  return isOperationalEventType(eventType) ? [eventType, category] : [eventType, category, '*'];
}
