import type { FromSchema, JSONSchema } from 'json-schema-to-ts';

/**
 * Building blocks of the response schemas (JSON Schema 2020-12, as OpenAPI 3.1 takes it). Each response schema
 * lists every field the answer has and requires each one that is always there, so Fastify's serializer fails
 * loudly on a missing field and sends nothing the schema does not name.
 */
export const dateTime = { type: 'string', format: 'date-time' } as const;
export const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const;
export const nullableString = { type: ['string', 'null'] } as const;
export const nullableInteger = { type: ['integer', 'null'] } as const;
export const anyObject = { type: 'object', additionalProperties: true } as const;

/** An object whose properties are all required but the `optional` ones; no others. */
export function objectOf<const P extends Record<string, object>, const O extends keyof P & string = never>(
  properties: P,
  optional: readonly O[] = [],
  description?: string,
) {
  return {
    type: 'object',
    additionalProperties: false,
    // Typed by name, so the answer's type can be read off the schema (ResponseOf) as a body's is.
    required: Object.keys(properties).filter((name) => !(optional as readonly string[]).includes(name)) as Exclude<
      keyof P & string,
      O
    >[],
    properties,
    ...(description ? { description } : {}),
  } as const;
}

/** A cursor page of items, newest first. */
export function pageOf(item: object) {
  return objectOf({
    data: { type: 'array', items: item },
    next_cursor: { ...nullableString, description: 'pass as `cursor` for the next page; null on the last page' },
  });
}

/** An operator action's answer: the id acted on and what was requested. */
export function operationResult(status: readonly string[]) {
  return objectOf({ id: { type: 'string' }, status: { type: 'string', enum: status } });
}

/** What an answer of a response schema is, where the service builds it as sent (no Date to serialize on the way). */
export type ResponseOf<S extends JSONSchema> = FromSchema<S>;
