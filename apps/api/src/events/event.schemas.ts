import type { EventActor, EventTenant } from '../../../../libs/contracts/envelope';

export const publishEventSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['event_type', 'tenant', 'data'],
  properties: {
    event_id: {
      type: 'string',
      pattern: '^evt_[A-Za-z0-9_-]{1,124}$',
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
    actor: {
      type: 'object',
      required: ['kind'],
      properties: {
        kind: { type: 'string', minLength: 1, maxLength: 64 },
        id: { type: 'string', maxLength: 256 },
        email: { type: 'string', maxLength: 320 },
      },
    },
    data: { type: 'object', description: 'the event payload, delivered as sent' },
  },
} as const;

export interface PublishEventBody {
  event_id?: string;
  event_type: string;
  occurred_at?: string;
  tenant: EventTenant;
  actor?: EventActor;
  data: Record<string, unknown>;
}
