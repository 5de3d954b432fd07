import { ArgumentMetadata, HttpStatus, PipeTransform } from '@nestjs/common';
import Ajv, { ErrorObject, FormatDefinition, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats';
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';
import { ApiError } from './api-error';

const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv, ['uri']);
// RFC 3339 as ajv-formats checks it, and a time JavaScript can represent: ajv-formats also takes a leap second
// (23:59:60) and offsets such as +05, which Date.parse turns into NaN, an Invalid Date that fails deep inside
// (toISOString, the Postgres driver) as a 500 instead of here as a 400.
const rfc3339DateTime = fullFormats['date-time'] as FormatDefinition<string>;
ajv.addFormat('date-time', {
  type: 'string',
  validate: (text: string) =>
    (rfc3339DateTime.validate as (text: string) => boolean)(text) && Number.isFinite(Date.parse(text)),
  compare: rfc3339DateTime.compare,
});

/** The publish contract caps an event (and so every request body) at 256 KiB. */
export const BODY_LIMIT_BYTES = 256 * 1024;

/** How deeply a request body may nest objects and arrays; deeper ones are refused before anything recurses over them. */
export const MAX_JSON_DEPTH = 64;

/** U+0000 (Postgres text and jsonb cannot hold it) or a surrogate without its pair (UTF-8 cannot encode it). */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const UNSTORABLE_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function isStorableText(text: string): boolean {
  return !UNSTORABLE_TEXT.test(text);
}

const TEXT_PROBLEM = 'must not contain NUL (U+0000) or unpaired surrogate characters';

/**
 * The first part of a parsed JSON body that cannot be stored and sent on as it came: a string or key with NUL or a
 * lone surrogate, a number JSON cannot carry (1e400 parses as Infinity), or nesting deeper than MAX_JSON_DEPTH.
 * Iterative, so a hostile nesting depth cannot overflow the stack here.
 */
export function unstorableJson(root: unknown, maxDepth = MAX_JSON_DEPTH): FieldProblem | undefined {
  const pending: Array<{ value: unknown; path: string[] }> = [{ value: root, path: [] }];
  while (pending.length > 0) {
    const { value, path } = pending.pop() as { value: unknown; path: string[] };
    const field = path.join('.') || '(body)';
    if (typeof value === 'string') {
      if (!isStorableText(value)) return { field, problem: TEXT_PROBLEM };
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) return { field, problem: 'must be a finite number within the range of a double' };
    } else if (value !== null && typeof value === 'object') {
      if (path.length >= maxDepth)
        return { field, problem: `nests objects or arrays more than ${maxDepth} levels deep` };
      for (const [key, child] of Object.entries(value)) {
        if (!isStorableText(key))
          return { field, problem: 'has a key with NUL (U+0000) or unpaired surrogate characters' };
        pending.push({ value: child, path: [...path, key] });
      }
    }
  }
  return undefined;
}

/** An id taken from a path or a gRPC request: one with NUL cannot exist, and Postgres refuses to even compare it. */
export function requireStorableId(value: string, name: string): string {
  if (!isStorableText(value))
    throw new ApiError(HttpStatus.BAD_REQUEST, 'invalid_id', `${name} ${TEXT_PROBLEM}; no id does`);
  return value;
}

/** Global pipe: every REST path parameter goes through requireStorableId before a route handler sees it. */
export class PathParamsPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'param' && typeof value === 'string') requireStorableId(value, metadata.data ?? 'the path');
    return value;
  }
}

/**
 * One route's path parameter held to the pattern its OpenAPI schema states (IdParam): a value of another shape
 * names nothing this API has, and a tenant id of another shape is one no other operation would take.
 */
export class IdPatternPipe implements PipeTransform {
  constructor(
    private readonly name: string,
    private readonly pattern: RegExp,
    private readonly description: string,
  ) {}

  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (
      metadata.type === 'param' &&
      metadata.data === this.name &&
      typeof value === 'string' &&
      !this.pattern.test(value)
    )
      throw new ApiError(
        HttpStatus.BAD_REQUEST,
        'invalid_id',
        `${this.name} must be ${this.description}, matching ${this.pattern.source}`,
      );
    return value;
  }
}

export interface FieldProblem {
  field: string;
  problem: string;
}

function fieldOf(error: ErrorObject): string {
  const path = error.instancePath.split('/').slice(1).join('.');
  const child =
    error.keyword === 'required'
      ? (error.params as { missingProperty: string }).missingProperty
      : error.keyword === 'additionalProperties'
        ? (error.params as { additionalProperty: string }).additionalProperty
        : undefined;
  return [path, child].filter(Boolean).join('.') || '(body)';
}

function problemOf(error: ErrorObject): string {
  switch (error.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not a known field';
    case 'format':
      return error.params.format === 'date-time'
        ? 'must be an RFC 3339 date-time with a time zone, e.g. 2026-05-17T08:00:00.000Z'
        : `must be a valid ${error.params.format}`;
    default:
      return error.message ?? 'is invalid';
  }
}

export function fieldProblems(errors: ErrorObject[] | null | undefined): FieldProblem[] {
  return (errors ?? []).map((error) => ({ field: fieldOf(error), problem: problemOf(error) }));
}

/** The JSON Schema of a request body, written `as const` so the body's type can be read off it. */
export type BodySchema = JSONSchema & { readonly type: 'object' };

/** What a body that passed the schema is: derived from the schema, so the two cannot drift apart. */
export type BodyOf<S extends BodySchema> = FromSchema<S>;

/**
 * A compiled JSON Schema check whose failure is a 400 naming each field and what is wrong with it. Made from the
 * schema alone (BodyValidator.of), so what it answers is the schema's type and no type written apart.
 */
export class BodyValidator<T> {
  private readonly check: ValidateFunction;

  private constructor(readonly schema: BodySchema) {
    this.check = ajv.compile(schema);
  }

  static of<const S extends BodySchema>(schema: S): BodyValidator<BodyOf<S>> {
    return new BodyValidator<BodyOf<S>>(schema);
  }

  parse(value: unknown, what = 'request body'): T {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new ApiError(HttpStatus.BAD_REQUEST, 'validation_failed', `the ${what} must be a JSON object`);
    }
    const unstorable = unstorableJson(value);
    if (unstorable)
      throw new ApiError(
        HttpStatus.BAD_REQUEST,
        'validation_failed',
        `the ${what} is invalid: ${unstorable.field} ${unstorable.problem}`,
        [unstorable],
      );
    // The one place a value becomes the schema's type: it has just passed that very schema.
    if (this.check(value)) return value as T;
    const details = fieldProblems(this.check.errors);
    const summary = details
      .slice(0, 3)
      .map((d) => `${d.field} ${d.problem}`)
      .join('; ');
    throw new ApiError(HttpStatus.BAD_REQUEST, 'validation_failed', `the ${what} is invalid: ${summary}`, details);
  }

  /** A body the request may leave out: none at all reads as {}, but a JSON null (like any non-object) is refused. */
  parseOptional(value: unknown): T {
    return this.parse(value === undefined ? {} : value);
  }
}

/** A JSON Schema check for part of a request that passed its structural check (422: well-formed, but not acceptable). */
export function checkAgainstSchema(
  schema: Record<string, unknown>,
  value: unknown,
  path: string,
  code: string,
  what: string,
): void {
  let check = compiledSchemas.get(schema);
  if (!check) {
    check = ajv.compile(schema);
    compiledSchemas.set(schema, check);
  }
  if (check(value)) return;
  const details = fieldProblems(check.errors).map((problem) => ({
    ...problem,
    field: problem.field === '(body)' ? path : `${path}.${problem.field}`,
  }));
  const summary = details
    .slice(0, 3)
    .map((d) => `${d.field} ${d.problem}`)
    .join('; ');
  throw new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, code, `${what}: ${summary}`, details);
}

const compiledSchemas = new WeakMap<object, ValidateFunction>();
