import { SUBSCRIPTION_ID_PATTERN } from '../../../../libs/contracts/ids';
import { ORDERINGS } from '../../../../libs/contracts/ordering-key';
import { MAX_IN_FLIGHT_LIMIT, MAX_PER_SECOND_LIMIT } from '../../../../libs/contracts/throttle-policy';
import {
  anyObject,
  dateTime,
  nullableDateTime,
  nullableInteger,
  nullableString,
  objectOf,
  ResponseOf,
} from '../common/schema-parts';
import {
  receiverCredentialChanges,
  receiverCredentials,
  receiverCredentialsShown,
} from './receiver-credentials.schemas';

export const MAX_URL_LENGTH = 2048;

const tenantId = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' } as const;
const url = {
  type: 'string',
  minLength: 1,
  maxLength: MAX_URL_LENGTH,
  description: 'http(s) URL the deliveries are POSTed to',
} as const;
const eventTypes = {
  type: 'array',
  minItems: 1,
  maxItems: 100,
  items: { type: 'string', minLength: 1, maxLength: 100 },
  description: 'catalogue names, "category.*" or "*"',
} as const;

const maxInFlight = {
  type: 'integer',
  minimum: 1,
  maximum: MAX_IN_FLIGHT_LIMIT,
  description:
    'attempts to this subscription in flight at once, across every worker; absent: the configured default (SUBSCRIPTION_MAX_IN_FLIGHT, 10 unless set)',
} as const;
const maxPerSecond = {
  type: 'integer',
  minimum: 1,
  maximum: MAX_PER_SECOND_LIMIT,
  description:
    'attempts to this subscription started per second (paced evenly), across every worker; ' +
    'absent: the configured default (SUBSCRIPTION_MAX_PER_SECOND, no cap unless set)',
} as const;
const ordering = {
  type: 'string',
  enum: ORDERINGS,
  description:
    'per_entity: the deliveries of one ordering key (the user, application or connection an event is about, or the ' +
    "publisher's ordering_key) are sent one at a time, in publish order, each after the previous one ended; " +
    'none (the default): each delivery starts at once. A change applies to events published after it',
} as const;

/** In an update, null puts the configured default back. */
function orDefault<T extends { type: string; description: string }>(limit: T) {
  // Spelled out: a spread of a generic is typed as an intersection, which would keep `type` as T['type'] too.
  const nullable: Omit<T, 'type' | 'description'> & {
    readonly type: readonly [T['type'], 'null'];
    readonly description: string;
  } = {
    ...limit,
    type: [limit.type, 'null'],
    description: `${limit.description}; null puts the default back`,
  };
  return nullable;
}

const signingSecret = {
  type: 'string',
  pattern: '^whsec_',
  description: 'the signing secret, shown this once: keep it in the receiver',
} as const;

export const createSubscriptionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'event_types'],
  properties: {
    tenant_id: { ...tenantId, description: 'required with a service key; a tenant key may leave it out' },
    url,
    event_types: eventTypes,
    description: { type: 'string', maxLength: 1024 },
    enabled: {
      type: 'boolean',
      description:
        'false creates it disabled (no deliveries until it is enabled), so it can be test-sent before it goes live; default true',
    },
    max_in_flight: maxInFlight,
    max_per_second: maxPerSecond,
    ...receiverCredentials,
    ordering,
  },
} as const;

export const updateSubscriptionSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    url,
    event_types: eventTypes,
    description: { type: ['string', 'null'], maxLength: 1024 },
    enabled: { type: 'boolean' },
    max_in_flight: orDefault(maxInFlight),
    max_per_second: orDefault(maxPerSecond),
    ...receiverCredentialChanges,
    ordering,
  },
} as const;

export const rotateSecretSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    grace_period_seconds: {
      type: 'integer',
      minimum: 0,
      maximum: 604_800,
      description:
        'how long the previous secrets keep signing: default 86400 (24 h), at most 7 days, 0 for a leaked secret',
    },
  },
} as const;

export const disableSubscriptionSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } },
} as const;

export const testSendSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['event_type'],
  properties: { event_type: { type: 'string', minLength: 1, maxLength: 100 } },
} as const;

// ---- responses ----

export const subscriptionSchema = objectOf({
  id: { type: 'string', pattern: SUBSCRIPTION_ID_PATTERN.source },
  tenant_id: { type: 'string' },
  url: { type: 'string' },
  event_types: { type: 'array', items: { type: 'string' } },
  description: nullableString,
  enabled: { type: 'boolean' },
  disabled_reason: {
    ...nullableString,
    description: 'why it was disabled (an operator reason, subscription_disabled, receiver answered 410 Gone…)',
  },
  max_in_flight: {
    ...nullableInteger,
    description: "the subscription's limit on attempts in flight at once; null: the configured default applies",
  },
  max_per_second: {
    ...nullableInteger,
    description: "the subscription's limit on attempts started per second; null: the configured default applies",
  },
  ordering: { type: 'string', enum: ORDERINGS, description: ordering.description },
  created_at: dateTime,
  updated_at: dateTime,
  ...receiverCredentialsShown,
  failing_warning: {
    type: ['object', 'null'],
    additionalProperties: false,
    required: ['failing_since', 'warned_at', 'disables_at'],
    properties: { failing_since: dateTime, warned_at: dateTime, disables_at: nullableDateTime },
    description:
      'set while every attempt keeps failing after a webhook.subscription.failing warning: since when, and when the ' +
      'subscription will be disabled (null: never); null otherwise',
  },
});

export const createdSubscriptionSchema = {
  ...subscriptionSchema,
  required: [...subscriptionSchema.required, 'secret'],
  properties: { ...subscriptionSchema.properties, secret: signingSecret },
} as const;

export const rotatedSecretSchema = objectOf({
  id: { type: 'string' },
  secret: signingSecret,
  previous_secrets_valid_until: { ...dateTime, description: 'the secrets held before keep signing until then' },
});

export const testSendResultSchema = objectOf({
  delivered: { type: 'boolean', description: 'the receiver answered 2xx within the attempt timeout' },
  status_code: { ...nullableInteger, description: 'null when no HTTP answer came' },
  error: nullableString,
  duration_ms: { type: 'integer' },
  response_excerpt: { ...nullableString, description: 'the first KiB of the answer' },
  event_id: { type: 'string', description: 'evt_test_…: a fresh id, stored nowhere' },
  body: { ...anyObject, description: 'the body that was sent: a WebhookEvent' },
});

export type TestSendResult = ResponseOf<typeof testSendResultSchema>;

/** How many blocked keys one answer lists. */
export const BLOCKED_KEYS_SHOWN = 100;

export const blockedKeysSchema = objectOf({
  subscription_id: { type: 'string' },
  data: {
    type: 'array',
    description: 'the keys with deliveries waiting behind their head, longest blocked first',
    items: objectOf({
      ordering_key: { type: 'string' },
      head_delivery_id: {
        type: 'string',
        description: 'the delivery the key waits for: cancel it, or retry it now, to let the next one go',
      },
      head_status: { type: 'string', description: "the head's status (retry_scheduled: it waits on its schedule)" },
      since: { ...dateTime, description: 'when the head was let start' },
      waiting: { type: 'integer', minimum: 1, description: 'deliveries of the key waiting behind it' },
    }),
  },
  has_more: {
    type: 'boolean',
    description: `more than ${BLOCKED_KEYS_SHOWN} keys are blocked: the longest blocked are shown`,
  },
});

export const attemptStatsSchema = objectOf({
  subscription_id: { type: 'string' },
  hours: {
    type: 'array',
    minItems: 24,
    maxItems: 24,
    description: 'the last 24 hours (UTC), oldest first, the current hour last',
    items: objectOf({
      hour: { ...dateTime, description: 'the start of the hour' },
      succeeded: { type: 'integer', minimum: 0, description: 'attempts answered 2xx in time' },
      failed: { type: 'integer', minimum: 0, description: 'attempts that failed (any other outcome)' },
    }),
  },
});
