import { dateTime, nullableDateTime, nullableString, objectOf } from '../common/schema-parts';

export const createKeySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1, maxLength: 200, description: 'what the key is for' } },
} as const;

// ---- responses ----

/** A tenant key as listed: never the key itself, only its visible prefix. */
export const apiKeySchema = objectOf({
  id: { type: 'string', pattern: '^key_' },
  tenant_id: { type: 'string' },
  prefix: { type: 'string', description: 'the first characters of the key, to recognise it' },
  name: nullableString,
  created_by: { type: 'string' },
  created_at: dateTime,
  revoked_at: nullableDateTime,
});

export const createdApiKeySchema = {
  ...apiKeySchema,
  required: [...apiKeySchema.required, 'key'],
  properties: {
    ...apiKeySchema.properties,
    key: { type: 'string', pattern: '^iaw_tk_', description: 'the key, shown this once' },
  },
} as const;

export const apiKeyListSchema = objectOf({ data: { type: 'array', items: apiKeySchema } });
