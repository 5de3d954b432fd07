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

export function structToJson(struct: Struct): Record<string, unknown> {
  return Object.fromEntries(Object.entries(struct.fields ?? {}).map(([key, value]) => [key, valueToJson(value)]));
}

function valueToJson(value: StructValue): unknown {
  switch (value.kind) {
    case 'numberValue':
      return value.numberValue;
    case 'stringValue':
      return value.stringValue;
    case 'boolValue':
      return value.boolValue;
    case 'structValue':
      return structToJson(value.structValue ?? {});
    case 'listValue':
      return (value.listValue?.values ?? []).map(valueToJson);
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
