import { LISTEN_REQUEST_ID_PATTERN, SUBSCRIPTION_ID_PATTERN } from '../../../../libs/contracts/ids';
import { RESPONSE_EXCERPT_BYTES } from '../../../../libs/outbound/webhook-sender';
import { dateTime, objectOf } from '../common/schema-parts';
import { createSubscriptionSchema } from '../subscriptions/subscription.schemas';

const { tenant_id, event_types } = createSubscriptionSchema.properties;

export const createListenSessionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['event_types', 'forward_to'],
  properties: {
    tenant_id,
    event_types,
    forward_to: {
      type: 'string',
      minLength: 1,
      maxLength: 2048,
      pattern: '^https?://[^\\s]+$',
      description:
        'the local URL the tool forwards to (shown in listings; the product never connects to it, so it may be loopback)',
    },
  },
} as const;

export const listenAnswerSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['status_code', 'duration_ms'],
  properties: {
    status_code: {
      type: ['integer', 'null'],
      minimum: 100,
      maximum: 599,
      description: "the local receiver's status; null when it gave none (refused, timed out)",
    },
    duration_ms: { type: 'integer', minimum: 0, maximum: 3_600_000 },
    error: { type: ['string', 'null'], maxLength: 300, description: 'why there was no status' },
    response_excerpt: { type: ['string', 'null'], maxLength: RESPONSE_EXCERPT_BYTES },
    retry_after: { type: ['string', 'null'], maxLength: 100, description: "the answer's Retry-After header" },
  },
} as const;

// ---- responses ----

export const listenSessionSchema = objectOf({
  id: { type: 'string', pattern: SUBSCRIPTION_ID_PATTERN.source, description: 'the subscription the session is' },
  tenant_id: { type: 'string' },
  event_types: { type: 'array', items: { type: 'string' } },
  forward_to: { type: 'string' },
  created_at: dateTime,
  expires_at: { ...dateTime, description: 'the session ends then unless its tool polls before' },
  last_seen_at: {
    ...dateTime,
    description: "the tool's last call (a poll or an answer; the opening before the first)",
  },
});

export const createdListenSessionSchema = {
  ...listenSessionSchema,
  required: [...listenSessionSchema.required, 'secret', 'ttl_seconds'],
  properties: {
    ...listenSessionSchema.properties,
    secret: {
      type: 'string',
      pattern: '^whsec_',
      description: "the session's signing secret, shown this once: the local receiver verifies with it",
    },
    ttl_seconds: { type: 'integer', description: 'how long the session lives past its last poll (LISTEN_SESSION_TTL)' },
  },
} as const;

export const listenSessionListSchema = objectOf({ data: { type: 'array', items: listenSessionSchema } });

export const listenRequestsSchema = objectOf({
  requests: {
    type: 'array',
    items: objectOf({
      id: { type: 'string', pattern: LISTEN_REQUEST_ID_PATTERN.source },
      headers: {
        type: 'object',
        additionalProperties: { type: 'string' },
        description: 'the headers of the POST, signatures included, exactly as the product would send them',
      },
      body: { type: 'string', description: 'the body of the POST, byte for byte once encoded as UTF-8' },
      expires_at: { ...dateTime, description: 'the attempt stops waiting for the answer then (its timeout)' },
    }),
  },
});

export const listenAnswerResultSchema = objectOf({
  recorded: {
    type: 'boolean',
    description: 'false when the attempt no longer waited for this answer (past its timeout): it was not recorded',
  },
});
