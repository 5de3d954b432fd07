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
export function objectOf(properties: Record<string, object>, optional: string[] = [], description?: string) {
  return {
    type: 'object',
    additionalProperties: false,
    required: Object.keys(properties).filter((name) => !optional.includes(name)),
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
