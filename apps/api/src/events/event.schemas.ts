import { PUBLISHABLE_EVENT_TYPES } from '../../../../libs/contracts/catalogue';
import { EVENT_ID_PATTERN } from '../../../../libs/contracts/ids';
import { ORDERING_KEY_MAX_LENGTH, ORDERING_KEY_PATTERN } from '../../../../libs/contracts/ordering-key';
import { anyObject, dateTime, nullableString, objectOf, ResponseOf } from '../common/schema-parts';
import type { BodyOf } from '../common/validation';
import { deliverySchema } from '../deliveries/delivery.schemas';
import { dataComponents, eventActorSchema, withCatalogue } from '../event-types/event-type.schemas';

export const publishEventSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['event_type', 'tenant', 'data'],
  properties: {
    event_id: {
      type: 'string',
      pattern: EVENT_ID_PATTERN.source,
      description: 'optional; evt_ + ULID is generated when absent. Publishing the same id again is idempotent.',
    },
    event_type: { type: 'string', minLength: 1, maxLength: 100, description: 'a name from GET /v1/event-types' },
    occurred_at: {
      type: 'string',
      format: 'date-time',
      description: 'optional (now); at most WEBHOOK_TTL old and 5 minutes ahead',
    },
    tenant: {
      type: 'object',
      additionalProperties: false,
      required: ['id'],
      properties: {
        id: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' },
        slug: { type: 'string', minLength: 1, maxLength: 128 },
      },
    },
    actor: eventActorSchema,
    data: { type: 'object', additionalProperties: true, description: 'the event payload, delivered as sent' },
    ordering_key: {
      type: 'string',
      minLength: 1,
      maxLength: ORDERING_KEY_MAX_LENGTH,
      pattern: ORDERING_KEY_PATTERN.source,
      description:
        'optional: the entity this event is ordered under for subscriptions with ordering per_entity (visible ASCII, ' +
        'at most 256 characters); absent: the catalogue derives it from data (user:<data.user.id> for user.*, mfa.* ' +
        'and security.*, application:<id>, connection:<id>). Sent as the X-IntelliAuth-Ordering-Key header, not in the body',
    },
  },
} as const;

/**
 * The publish body as the document states it: the envelope publish validates, with `event_type` one of the
 * catalogue but an operational one and `data` that type's schema. (Publish checks these two after the envelope's
 * shape: an unknown or operational type, or data that does not fit its schema, is a 422, not a 400.)
 */
export const publishEventDocumentSchema = {
  ...withCatalogue(publishEventSchema),
  oneOf: PUBLISHABLE_EVENT_TYPES.map((type) => ({
    required: ['event_type', 'data'],
    properties: { event_type: { const: type }, data: dataComponents.get(type)!.ref },
  })),
};

export type PublishEventBody = BodyOf<typeof publishEventSchema>;

// ---- responses ----

export const publishResultSchema = objectOf({
  event_id: { type: 'string' },
  deliveries: {
    type: 'array',
    description: 'one per enabled subscription of the tenant that matches the event type',
    items: objectOf({ id: { type: 'string', pattern: '^whdlv_' }, subscription_id: { type: 'string' } }),
  },
});

export type PublishResult = ResponseOf<typeof publishResultSchema>;

/** Set on a publish answered from an earlier publish of the same event_id. */
export const idempotentReplayedHeaderSchema = { type: 'string', enum: ['true'] } as const;

const tenantSchema = objectOf({ id: { type: 'string' }, slug: { type: 'string' } }, ['slug']);
const actorSchema = {
  type: 'object',
  additionalProperties: true,
  required: ['kind'],
  properties: { kind: { type: 'string' }, id: { type: 'string' }, email: { type: 'string' } },
} as const;

/** A stored event as GET /v1/events/{eventId} answers it: the envelope as published, when it arrived, and its deliveries. */
export const eventSchema = objectOf(
  {
    event_id: { type: 'string' },
    event_type: { type: 'string' },
    occurred_at: dateTime,
    tenant: tenantSchema,
    actor: actorSchema,
    data: anyObject,
    ordering_key: {
      ...nullableString,
      description: 'the key its deliveries to per_entity subscriptions are ordered under (null: none, unordered)',
    },
    received_at: dateTime,
    deliveries: { type: 'array', items: deliverySchema },
  },
  ['actor'],
);
