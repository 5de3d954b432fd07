/**
 * Determinism: every recorded history (test/replay/histories, written by `npm run record-histories`) replays against
 * the current workflow code. A change that reorders, adds or removes a command (activity, timer, search attribute
 * upsert…) without `patched()` fails here, before it can break the workflows running in production.
 * Replay runs inside this process: no Temporal server is needed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { ReplayResult, Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { historyFromJSON } from '../../tools/workflow-testing/history-json';
import { bundleWorkflows, installQuietRuntime } from '../helpers/time-skipping';

const HISTORIES_DIR = join(__dirname, 'histories');

/** One per workflow path; a path added to tools/record-histories.ts is added here too, and a lost file fails. */
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
 * histories/*.json is the current set (one per path, as recorded last); histories/<shape>/*.json are sets kept from
 * an earlier shape of the workflow, so its branch keeps replaying; they go when that branch is removed.
 * activity-task-attempts/: runs started before attempts became local activities (no `localAttempts` in the input).
 */
const recorded = readdirSync(HISTORIES_DIR, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.json'))
  .map((file) => {
    const path = file.slice(0, -'.json'.length).split(sep).join('/');
    return {
      path,
      workflowId: `replay:${path}`,
      history: historyFromJSON(JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8'))),
    };
  });
const current = recorded.filter((r) => !r.path.includes('/'));

let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  installQuietRuntime();
  bundle = await bundleWorkflows();
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
        type: path.endsWith('bulk-redrive')
          ? 'bulkRedriveWorkflow'
          : path.endsWith('retention-purge')
            ? 'retentionPurgeWorkflow'
            : 'deliveryWorkflow',
      });
      expect({ path, completed: Boolean(last?.workflowExecutionCompletedEventAttributes) }).toEqual({
        path,
        completed: true,
      });
    }
  });

  it('covers both shapes of the delivery workflow: attempts as local activities, and as activity tasks', () => {
    const eventTypes = (path: string) =>
      (recorded.find((r) => r.path === path)?.history.events ?? []).map((event) =>
        Object.keys(event).find((key) => key.endsWith('EventAttributes')),
      );
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
    const failures = results
      .filter((r) => r.error)
      .map((r) => `${r.workflowId}: ${r.error!.name}: ${r.error!.message}`);
    expect(failures).toEqual([]);
    expect(results.map((r) => r.workflowId).sort()).toEqual(recorded.map((r) => r.workflowId).sort());
  });
});
