/**
 * Determinism: every recorded history (test/replay/histories, written by `npm run record-histories`) replays against
 * the current workflow code. A change that reorders, adds or removes a command (activity, timer, search attribute
 * upsert…) without `patched()` fails here, before it can break the workflows running in production.
 * Replay runs inside this process: no Temporal server is needed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import { History, historyFromJSON } from '@temporalio/common/lib/proto-utils';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/common/lib/protobufs';
import { ReplayResult, Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { bundleDeliveryWorkflows, installQuietRuntime } from '../helpers/time-skipping';

const HISTORIES_DIR = join(__dirname, 'histories');

/** One per workflow path; a path added to scripts/record-histories.ts is added here too, and a lost file fails. */
const EXPECTED_PATHS = [
  'bulk-redrive',
  'cancelled',
  'dead-lettered',
  'delivered',
  'expired',
  'redriven',
  'retried',
  'retention-purge',
  'retried-now',
  'retry-after',
  'stopped',
  'stopped-at-attempt',
  'throttled',
  'workflow-cancelled',
];

/**
 * The SDK's `historyFromJSON`. Where @temporalio/common got its own copy of protobufjs (see
 * scripts/record-histories.ts) it throws "type must be a Type"; the fallback parses the same proto JSON with the
 * protojson of the copy @temporalio/proto is built with. (The SDK's extra step, renaming the PascalCase enums of old
 * tctl exports, is not needed for files that historyToJSON wrote.)
 */
function parseHistory(json: unknown): History {
  try {
    return historyFromJSON(json);
  } catch (error) {
    if (!(error instanceof TypeError && error.message === 'type must be a Type')) throw error;
    const protojson = createRequire(require.resolve('@temporalio/proto'))('protobufjs/ext/protojson') as {
      fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): History | null;
    };
    const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');
    const history = protojson.fromJson(historyType, json, { ignoreUnknownFields: true });
    if (!history) throw new TypeError('Invalid history');
    return history;
  }
}

/**
 * histories/*.json is the current set (one per path, as recorded last); histories/<shape>/*.json are sets kept from
 * an earlier shape of the workflow, so its branch keeps replaying; they go when that branch is removed.
 * activity-task-attempts/: runs started before attempts became local activities (no `localAttempts` in the input).
 */
const recorded = readdirSync(HISTORIES_DIR, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.json'))
  .map((file) => {
    const path = file.slice(0, -'.json'.length).split(sep).join('/');
    return { path, workflowId: `replay:${path}`, history: parseHistory(JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8'))) };
  });
const current = recorded.filter((r) => !r.path.includes('/'));

let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  installQuietRuntime();
  bundle = await bundleDeliveryWorkflows();
});

describe('recorded workflow histories replay against the current workflow code', () => {
  it('has one history for every workflow path, and nothing else', () => {
    expect(current.map((r) => r.path).sort()).toEqual([...EXPECTED_PATHS].sort());
  });

  it('every history is a complete run of a known workflow type', () => {
    for (const { path, history } of recorded) {
      const [first] = history.events ?? [];
      const last = history.events?.at(-1);
      expect({ path, type: first?.workflowExecutionStartedEventAttributes?.workflowType?.name }).toEqual({
        path,
        type: path.endsWith('bulk-redrive') ? 'bulkRedriveWorkflow' : path.endsWith('retention-purge') ? 'retentionPurgeWorkflow' : 'deliveryWorkflow',
      });
      expect({ path, completed: Boolean(last?.workflowExecutionCompletedEventAttributes) }).toEqual({ path, completed: true });
    }
  });

  it('covers both shapes of the delivery workflow: attempts as local activities, and as activity tasks', () => {
    const eventTypes = (path: string) =>
      (recorded.find((r) => r.path === path)?.history.events ?? []).map((event) => Object.keys(event).find((key) => key.endsWith('EventAttributes')));
    expect(eventTypes('delivered')).toContain('markerRecordedEventAttributes');
    expect(eventTypes('delivered')).not.toContain('activityTaskScheduledEventAttributes');
    expect(eventTypes('activity-task-attempts/delivered')).toContain('activityTaskScheduledEventAttributes');
  });

  it('replays every history without a determinism or replay error', async () => {
    const results: ReplayResult[] = [];
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: bundle },
      recorded.map(({ workflowId, history }) => ({ workflowId, history })),
    )) {
      results.push(result);
    }
    const failures = results.filter((r) => r.error).map((r) => `${r.workflowId}: ${r.error!.name}: ${r.error!.message}`);
    expect(failures).toEqual([]);
    expect(results.map((r) => r.workflowId).sort()).toEqual(recorded.map((r) => r.workflowId).sort());
  });
});
