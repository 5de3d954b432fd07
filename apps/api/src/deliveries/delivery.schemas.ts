import { DELIVERY_STATUSES } from '../../../../libs/contracts/delivery-status';
import { SUBSCRIPTION_ID_PATTERN } from '../../../../libs/contracts/ids';
import { EVENT_TYPE_PATTERN } from '../common/paging';
import {
  dateTime,
  nullableDateTime,
  nullableInteger,
  nullableString,
  objectOf,
  operationResult,
  pageOf,
} from '../common/schema-parts';

export const cancelDeliverySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { reason: { type: 'string', maxLength: 500 } },
} as const;

export const deliveryStatusSchema = { type: 'string', enum: DELIVERY_STATUSES } as const;

/** The filters of the delivery list (and, with reason and from/to, of the dead-letter list), by query parameter. */
export const deliveryQuerySchemas = {
  status: deliveryStatusSchema,
  event_type: { type: 'string', pattern: EVENT_TYPE_PATTERN.source },
  subscription_id: { type: 'string', pattern: SUBSCRIPTION_ID_PATTERN.source },
  from: dateTime,
  to: dateTime,
} as const;

export const FAILURE_REASONS = ['exhausted', 'expired', 'subscription_disabled', 'subscription_deleted'] as const;

export const deliverySchema = objectOf({
  id: { type: 'string', pattern: '^whdlv_' },
  event_id: { type: 'string' },
  subscription_id: { type: 'string' },
  tenant_id: { type: 'string' },
  event_type: { type: 'string' },
  status: deliveryStatusSchema,
  attempt_count: { type: 'integer', minimum: 0 },
  next_attempt_at: { ...nullableDateTime, description: 'when the waiting delivery tries again' },
  last_status_code: nullableInteger,
  last_error: nullableString,
  failure_reason: {
    type: ['string', 'null'],
    description: `why it was dead-lettered (${FAILURE_REASONS.join(', ')}) or cancelled`,
  },
  redrive_count: { type: 'integer', minimum: 0 },
  delivered_at: nullableDateTime,
  dead_lettered_at: nullableDateTime,
  created_at: dateTime,
  updated_at: dateTime,
});

export const attemptSchema = objectOf({
  attempt: { type: 'integer', minimum: 1 },
  started_at: dateTime,
  duration_ms: { type: 'integer', minimum: 0 },
  status_code: { ...nullableInteger, description: 'null when no HTTP answer came' },
  error: nullableString,
  response_excerpt: { ...nullableString, description: 'the first KiB of the answer' },
  succeeded: { type: 'boolean' },
});

export const deliveryDetailSchema = {
  ...deliverySchema,
  required: [...deliverySchema.required, 'attempts'],
  properties: { ...deliverySchema.properties, attempts: { type: 'array', items: attemptSchema } },
} as const;

export const deliveryPageSchema = pageOf(deliverySchema);

export const cancelRequestedSchema = operationResult(['cancel_requested']);
export const retryRequestedSchema = operationResult(['retry_requested']);
export const redrivenSchema = operationResult(['pending']);
