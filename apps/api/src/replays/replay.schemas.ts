import { REPLAY_ID_PATTERN, SUBSCRIPTION_ID_PATTERN } from '../../../../libs/contracts/ids';
import { dateTime, nullableDateTime, objectOf } from '../common/schema-parts';

export const replayRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['from', 'to'],
  properties: {
    from: { type: 'string', format: 'date-time', description: 'events that occurred at or after this' },
    to: {
      type: 'string',
      format: 'date-time',
      description: 'and before this; at most REPLAY_MAX_WINDOW (7 days) after from',
    },
    event_types: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      items: { type: 'string', minLength: 1, maxLength: 100 },
      description: 'only these (catalogue names, "category.*" or "*"), among those the subscription matches now',
    },
    only_failed: {
      type: 'boolean',
      description: 'only the events whose delivery to this subscription is dead-lettered; default false',
    },
  },
} as const;

// ---- responses ----

const count = { type: 'integer', minimum: 0 } as const;

/** A replay job: what it takes, what it could not, and how its deliveries stand. */
export const replaySchema = objectOf({
  id: { type: 'string', pattern: REPLAY_ID_PATTERN.source },
  tenant_id: { type: 'string' },
  subscription_id: { type: 'string', pattern: SUBSCRIPTION_ID_PATTERN.source },
  from: {
    ...dateTime,
    description: 'the start of the window replayed: the one asked for, or the oldest retention kept',
  },
  to: dateTime,
  event_types: { type: ['array', 'null'], items: { type: 'string' } },
  only_failed: { type: 'boolean' },
  not_replayed: {
    type: ['object', 'null'],
    additionalProperties: false,
    required: ['from', 'to', 'reason'],
    properties: { from: dateTime, to: dateTime, reason: { type: 'string', enum: ['retention'] } },
    description: 'the part of the window asked for that is older than RETENTION: its events are gone',
  },
  status: { type: 'string', enum: ['running', 'completed'], description: 'completed: every event in the window taken' },
  matched: { ...count, description: 'events in the window the subscription matches now (and the filters take)' },
  delivered: { ...count, description: 'of those, delivered by this replay' },
  failed: { ...count, description: 'dead-lettered or cancelled again, or whose new run could not start' },
  pending: { ...count, description: 'still on their way' },
  skipped: { ...count, description: 'already on their way when their turn came: not sent again' },
  requested_by: { type: 'string' },
  created_at: dateTime,
  finished_at: nullableDateTime,
});
