import { HttpStatus } from '@nestjs/common';
import Ajv, { ErrorObject, JSONSchemaType, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { ApiError } from './api-error';

const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv, ['date-time', 'uri']);

export interface FieldProblem {
  field: string;
  problem: string;
}

function fieldOf(error: ErrorObject): string {
  const path = error.instancePath.split('/').slice(1).join('.');
  const child =
    error.keyword === 'required' ? (error.params as { missingProperty: string }).missingProperty
    : error.keyword === 'additionalProperties' ? (error.params as { additionalProperty: string }).additionalProperty
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
      return `must be ${error.params.format === 'date-time' ? 'an RFC 3339 date-time with a time zone, e.g. 2026-05-17T08:00:00.000Z' : `a valid ${error.params.format}`}`;
    default:
      return error.message ?? 'is invalid';
  }
}

export function fieldProblems(errors: ErrorObject[] | null | undefined): FieldProblem[] {
  return (errors ?? []).map((error) => ({ field: fieldOf(error), problem: problemOf(error) }));
}

/** A compiled JSON Schema check whose failure is a 400 naming each field and what is wrong with it. */
export class BodyValidator<T> {
  private readonly check: ValidateFunction<T>;

  constructor(readonly schema: JSONSchemaType<T> | Record<string, unknown>) {
    this.check = ajv.compile<T>(schema as JSONSchemaType<T>);
  }

  parse(value: unknown, what = 'request body'): T {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new ApiError(HttpStatus.BAD_REQUEST, 'validation_failed', `the ${what} must be a JSON object`);
    }
    if (this.check(value)) return value;
    const details = fieldProblems(this.check.errors);
    const summary = details.slice(0, 3).map((d) => `${d.field} ${d.problem}`).join('; ');
    throw new ApiError(HttpStatus.BAD_REQUEST, 'validation_failed', `the ${what} is invalid: ${summary}`, details);
  }
}

/** A JSON Schema check for part of a request that passed its structural check (422: well-formed, but not acceptable). */
export function checkAgainstSchema(schema: Record<string, unknown>, value: unknown, path: string, code: string, what: string): void {
  let check = compiledSchemas.get(schema);
  if (!check) {
    check = ajv.compile(schema);
    compiledSchemas.set(schema, check);
  }
  if (check(value)) return;
  const details = fieldProblems(check.errors).map((problem) => ({ ...problem, field: problem.field === '(body)' ? path : `${path}.${problem.field}` }));
  const summary = details.slice(0, 3).map((d) => `${d.field} ${d.problem}`).join('; ');
  throw new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, code, `${what}: ${summary}`, details);
}

const compiledSchemas = new WeakMap<object, ValidateFunction>();
