import { EVENT_CATEGORIES, EVENT_TYPES, EventType } from '../../../../libs/contracts/catalogue';
import { EVENT_TYPE_DEFINITIONS } from '../../../../libs/contracts/event-data-schemas';
import { component, Component } from '../common/openapi';
import { anyObject, dateTime, objectOf } from '../common/schema-parts';

/**
 * The event catalogue in the OpenAPI document: the names as an enum, each type's `data` schema (the very one
 * publish checks `data` against), and the body each type is delivered with, under OpenAPI 3.1 `webhooks`.
 */
export const EventTypeComponent = component('EventType', {
  type: 'string',
  enum: EVENT_TYPES,
  description: 'a name of the event catalogue (GET /v1/event-types)',
});

export const EventTypeFilterComponent = component('EventTypeFilter', {
  type: 'string',
  enum: [...EVENT_TYPES, '*', ...EVENT_CATEGORIES.map((category) => `${category}.*`)],
  description: 'a catalogue name, "category.*" or "*"',
});

/**
 * A request body schema as the document states it: `event_type` one of the catalogue and each `event_types` entry a
 * catalogue name or wildcard. The validators take any short string there and answer 422 unknown_event_type (with
 * the valid names) for one outside the catalogue, after the body's shape passed.
 */
export function withCatalogue<T extends { properties: Record<string, object> }>(schema: T): T {
  const properties: Record<string, object> = { ...schema.properties };
  if ('event_type' in properties) properties.event_type = EventTypeComponent.ref;
  if ('event_types' in properties)
    properties.event_types = { ...properties.event_types, items: EventTypeFilterComponent.ref };
  return { ...schema, properties };
}

/** user.signed_up → UserSignedUp */
export function pascalName(eventType: EventType): string {
  return eventType
    .split(/[._]/)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}

/** Each event type's `data` schema as a component. */
export const dataComponents = new Map<EventType, Component>(
  EVENT_TYPE_DEFINITIONS.map((definition) => [
    definition.name,
    component(`${pascalName(definition.name)}Data`, { ...definition.dataSchema, description: definition.description }),
  ]),
);

export const eventTypeListSchema = objectOf({
  data: {
    type: 'array',
    items: objectOf({
      name: EventTypeComponent.schema,
      category: { type: 'string' },
      description: { type: 'string' },
      data_schema: { ...anyObject, description: 'the JSON Schema publish checks `data` against' },
      example: { ...anyObject, description: 'an example `data`' },
    }),
  },
  filters: {
    type: 'array',
    items: { type: 'string' },
    description: 'the wildcard entries a subscription may name: "*" and "category.*"',
  },
});

const tenant = objectOf({ id: { type: 'string' }, slug: { type: 'string' } }, ['slug']);
/** Who caused an event, as a publisher sends it and a receiver gets it. */
export const eventActorSchema = {
  type: 'object',
  additionalProperties: true,
  required: ['kind'],
  properties: {
    kind: { type: 'string', minLength: 1, maxLength: 64 },
    id: { type: 'string', maxLength: 256 },
    email: { type: 'string', maxLength: 320 },
  },
} as const;

/** What a receiver gets for one event type: the product contract's envelope with `delivery` set per attempt. */
function webhookEvent(eventType: EventType, data: Component): Component {
  const definition = EVENT_TYPE_DEFINITIONS.find((d) => d.name === eventType)!;
  return component(`${pascalName(eventType)}Webhook`, {
    ...objectOf(
      {
        event_id: { type: 'string', description: 'stable across attempts and redrives: dedupe on it' },
        event_type: { type: 'string', const: eventType },
        occurred_at: dateTime,
        tenant,
        actor: eventActorSchema,
        data: data.ref,
        delivery: objectOf({ attempt: { type: 'integer', minimum: 1 }, subscription_id: { type: 'string' } }),
      },
      ['actor'],
      definition.description,
    ),
    examples: [
      {
        event_id: 'evt_01HZX3Q5M8Y2K7N4P6R9T0V1W2',
        event_type: eventType,
        occurred_at: '2026-05-17T08:00:00.000Z',
        tenant: { id: 'tnt_acme', slug: 'acme' },
        actor: { kind: 'user', id: 'usr_01HZX3Q5M8Y2K7N4P6R9T0V1W2', email: 'anita@cymmetri.com' },
        data: definition.example,
        delivery: { attempt: 1, subscription_id: 'whsub_01HZX3Q5M8Y2K7N4P6R9T0V1W5' },
      },
    ],
  });
}

const webhookComponents = new Map<EventType, Component>(
  EVENT_TYPES.map((type) => [type, webhookEvent(type, dataComponents.get(type)!)]),
);

export const WebhookEventComponent = component('WebhookEvent', {
  description: 'the body of every delivery, by event_type',
  oneOf: EVENT_TYPES.map((type) => webhookComponents.get(type)!.ref),
  discriminator: {
    propertyName: 'event_type',
    mapping: Object.fromEntries(EVENT_TYPES.map((type) => [type, webhookComponents.get(type)!.ref.$ref])),
  },
});

const header = (name: string, description: string, schema: object = { type: 'string' }) => ({
  name,
  in: 'header',
  required: true,
  description,
  schema,
});

/** The headers of every delivery, as `components.parameters` (the event type's own is per webhook). */
export const WEBHOOK_HEADERS: Record<string, object> = {
  WebhookId: header('webhook-id', 'Standard Webhooks: the event_id'),
  WebhookTimestamp: header('webhook-timestamp', 'Standard Webhooks: Unix seconds when this attempt was signed', {
    type: 'string',
    pattern: '^[0-9]+$',
  }),
  WebhookSignature: header(
    'webhook-signature',
    'Standard Webhooks: space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per valid secret',
    { type: 'string', pattern: '^v1,' },
  ),
  IntelliAuthSignature: header('X-IntelliAuth-Signature', 'hex HMAC-SHA256 of the exact body bytes (newest secret)', {
    type: 'string',
    pattern: '^[0-9a-f]{64}$',
  }),
  IntelliAuthEventId: header('X-IntelliAuth-Event-Id', 'the event_id'),
  IntelliAuthDeliveryAttempt: header(
    'X-IntelliAuth-Delivery-Attempt',
    '1, 2, 3…; numbering continues across redrives',
    { type: 'string', pattern: '^[1-9][0-9]*$' },
  ),
  IntelliAuthTimestamp: header('X-IntelliAuth-Timestamp', 'Unix seconds when this attempt was sent', {
    type: 'string',
    pattern: '^[0-9]+$',
  }),
};

/** OpenAPI 3.1 `webhooks`: one POST per event type, its body and headers, and what the receiver should answer. */
export function webhooksSection(): Record<string, unknown> {
  return Object.fromEntries(
    EVENT_TYPES.map((type) => [
      type,
      {
        post: {
          operationId: `receive${pascalName(type)}`,
          summary: `${type}: ${EVENT_TYPE_DEFINITIONS.find((d) => d.name === type)!.description}`,
          description:
            'Sent to each subscription whose event_types match. Verify the signature over the raw body before trusting it (the receiver library does).',
          tags: ['webhooks'],
          parameters: [
            ...Object.keys(WEBHOOK_HEADERS).map((name) => ({ $ref: `#/components/parameters/${name}` })),
            header('X-IntelliAuth-Event-Type', 'the event type', { type: 'string', const: type }),
          ],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: webhookComponents.get(type)!.ref } },
          },
          responses: {
            '2XX': { description: 'received: any 2xx within 10 s ends the delivery' },
            '410': { description: 'gone: the subscription is disabled' },
            '429': { description: 'slow down: a Retry-After (seconds or an HTTP date) moves the next attempt later' },
            default: {
              description: 'anything else (or no answer within 10 s) is a failed attempt, retried on the schedule',
            },
          },
        },
      },
    ]),
  );
}
