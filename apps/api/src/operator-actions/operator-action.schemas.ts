import { anyObject, dateTime, nullableString, objectOf, pageOf } from '../common/schema-parts';

export const OPERATOR_ACTION_PATTERN = /^[a-z_]+\.[a-z_]+$/;
export const TARGET_ID_PATTERN = /^[a-z_]+_[0-9A-Za-z_]{1,64}$/;

/** The filters of the operator action list, by query parameter. */
export const operatorActionQuerySchemas = {
  target_id: { type: 'string', pattern: TARGET_ID_PATTERN.source },
  action: { type: 'string', pattern: OPERATOR_ACTION_PATTERN.source },
} as const;

export const operatorActionSchema = objectOf({
  id: { type: 'string', pattern: '^opa_' },
  tenant_id: nullableString,
  action: { type: 'string', examples: ['delivery.cancel', 'subscription.rotate_secret'] },
  target_type: { type: 'string', enum: ['delivery', 'subscription', 'api_key', 'bulk_redrive', 'portal_session'] },
  target_id: { type: 'string' },
  actor: {
    type: 'string',
    description: 'service_key:<fingerprint>, tenant_key:<key id>, portal_session:<session id> or receiver',
  },
  details: anyObject,
  created_at: dateTime,
});

export const operatorActionPageSchema = pageOf(operatorActionSchema);
