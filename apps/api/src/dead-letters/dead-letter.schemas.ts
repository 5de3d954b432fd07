import { SUBSCRIPTION_ID_PATTERN, TENANT_ID_PATTERN } from '../../../../libs/contracts/ids';
import { EVENT_TYPE_PATTERN } from '../common/paging';
import { dateTime, nullableDateTime, nullableString, objectOf } from '../common/schema-parts';

export const REASON_PATTERN = /^[a-z_]{1,64}$/;

export const deadLetterFilterSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    tenant_id: { type: 'string', pattern: TENANT_ID_PATTERN.source },
    subscription_id: { type: 'string', pattern: SUBSCRIPTION_ID_PATTERN.source },
    event_type: { type: 'string', pattern: EVENT_TYPE_PATTERN.source },
    reason: {
      type: 'string',
      pattern: REASON_PATTERN.source,
      description: 'exhausted, expired, subscription_disabled, subscription_deleted',
    },
    from: { type: 'string', format: 'date-time', description: 'dead-lettered at or after' },
    to: { type: 'string', format: 'date-time', description: 'dead-lettered before' },
  },
} as const;

// ---- responses ----

/** A bulk redrive job: the filter as taken, the cutoff (the request's time) and its counters. */
export const bulkRedriveSchema = objectOf({
  id: { type: 'string', pattern: '^redrv_' },
  tenant_id: { ...nullableString, description: 'null when a service key redrove across tenants' },
  filter: deadLetterFilterSchema,
  cutoff: { ...dateTime, description: 'dead letters dead-lettered after this are left alone' },
  status: { type: 'string', enum: ['running', 'completed'] },
  matched: { type: 'integer', minimum: 0 },
  redriven: { type: 'integer', minimum: 0 },
  skipped: { type: 'integer', minimum: 0, description: 'no longer dead letters when their turn came' },
  failed: { type: 'integer', minimum: 0 },
  requested_by: { type: 'string' },
  created_at: dateTime,
  finished_at: nullableDateTime,
});
