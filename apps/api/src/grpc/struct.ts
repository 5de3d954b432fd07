import { HttpStatus } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import { MAX_JSON_DEPTH } from '../common/validation';

/**
 * google.protobuf.Struct as @grpc/proto-loader hands it over (`{ fields: { k: { stringValue } } }`), to and from
 * plain JSON, so gRPC requests reach the services in exactly the shape REST bodies do.
 */
export interface StructValue {
  nullValue?: unknown;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: Struct;
  listValue?: { values?: StructValue[] };
  kind?: string;
}
export interface Struct {
  fields?: Record<string, StructValue>;
}

/**
 * Nesting deeper than the JSON body check allows is refused here already, so a hostile Struct cannot make this
 * recursion (or anything after it) overflow the stack.
 */
export function structToJson(struct: Struct, depth = 0): Record<string, unknown> {
  if (depth > MAX_JSON_DEPTH) tooDeep();
  return Object.fromEntries(
    Object.entries(struct.fields ?? {}).map(([key, value]) => [key, valueToJson(value, depth + 1)]),
  );
}

function tooDeep(): never {
  throw new ApiError(
    HttpStatus.BAD_REQUEST,
    'validation_failed',
    `the event is invalid: a Struct nests objects or lists more than ${MAX_JSON_DEPTH} levels deep`,
    [{ field: '(body)', problem: `nests objects or arrays more than ${MAX_JSON_DEPTH} levels deep` }],
  );
}

function valueToJson(value: StructValue, depth: number): unknown {
  switch (value.kind) {
    case 'numberValue':
      return value.numberValue;
    case 'stringValue':
      return value.stringValue;
    case 'boolValue':
      return value.boolValue;
    case 'structValue':
      return structToJson(value.structValue ?? {}, depth);
    case 'listValue':
      if (depth > MAX_JSON_DEPTH) tooDeep();
      return (value.listValue?.values ?? []).map((item) => valueToJson(item, depth + 1));
    default:
      return null;
  }
}

export function jsonToStruct(object: Record<string, unknown>): Struct {
  return { fields: Object.fromEntries(Object.entries(object).map(([key, value]) => [key, jsonToValue(value)])) };
}

function jsonToValue(value: unknown): StructValue {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(jsonToValue) } };
  return { structValue: jsonToStruct(value as Record<string, unknown>) };
}
