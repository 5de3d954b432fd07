import { createRequire } from 'node:module';
import {
  History,
  historyFromJSON as sdkHistoryFromJSON,
  historyToJSON as sdkHistoryToJSON,
} from '@temporalio/common/lib/proto-utils';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/common/lib/protobufs';

/**
 * The SDK's history <-> proto JSON (the format of `temporal workflow show --output json`). Where npm gave
 * @temporalio/common its own copy of protobufjs 8 (here, because @grpc/proto-loader's protobufjs 7 holds the root
 * node_modules slot), the SDK's functions throw "type must be a Type": they hand a Type built by @temporalio/proto's
 * copy to the other copy's protojson. The fallbacks run the same steps with the protojson of the copy
 * @temporalio/proto is built with, so the output is the same.
 */
interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): History | null;
}

function isProtobufCopyMismatch(error: unknown): boolean {
  return error instanceof TypeError && error.message === 'type must be a Type';
}

function protoJsonOfTemporalProto(): { protojson: ProtoJson; historyType: unknown } {
  const protojson = createRequire(require.resolve('@temporalio/proto'))('protobufjs/ext/protojson') as ProtoJson;
  const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType(
    'temporal.api.history.v1.History',
  );
  return { protojson, historyType };
}

export function historyToJSON(history: History): string {
  try {
    return sdkHistoryToJSON(history);
  } catch (error) {
    if (!isProtobufCopyMismatch(error)) throw error;
    const { protojson, historyType } = protoJsonOfTemporalProto();
    return JSON.stringify(
      protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)),
      null,
      2,
    );
  }
}

/** (The SDK's extra step, renaming the PascalCase enums of old tctl exports, is not needed for files historyToJSON wrote.) */
export function historyFromJSON(json: unknown): History {
  try {
    return sdkHistoryFromJSON(json);
  } catch (error) {
    if (!isProtobufCopyMismatch(error)) throw error;
    const { protojson, historyType } = protoJsonOfTemporalProto();
    const history = protojson.fromJson(historyType, json, { ignoreUnknownFields: true });
    if (!history) throw new TypeError('Invalid history');
    return history;
  }
}
