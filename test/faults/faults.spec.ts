import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { FaultReport } from '../../tools/faults/scenarios';

/**
 * Short forms of `npm run faults`: the same script (built by npm test), each scenario on its own Postgres, Temporal
 * dev server, api, worker and receiver, with fewer events. Nothing published may go missing, end wrongly or reach
 * a subscription that did not match.
 */
function runScenario(name: string, env: Record<string, string>): Promise<FaultReport & Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, '..', '..', 'dist', 'tools', 'faults.js'), name], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.on('exit', () => {
      const line = output.split('\n').find((l) => l.startsWith('FAULT_REPORT '));
      if (line) resolve(JSON.parse(line.slice('FAULT_REPORT '.length)));
      else reject(new Error(`scenario ${name} printed no report:\n${output.slice(-4000)}`));
    });
  });
}

/** Also: the ordered subscription's deliveries of one key never overlapped, and no key was left blocked. */
function expectNothingLost(report: FaultReport) {
  expect({
    missing: report.missing,
    wrong: report.wrong,
    unmatchedReceipts: report.unmatchedReceipts,
    interleaved: report.interleaved,
    keysLeftBlocked: report.keysLeftBlocked,
  }).toEqual({
    missing: 0,
    wrong: 0,
    unmatchedReceipts: 0,
    interleaved: 0,
    keysLeftBlocked: 0,
  });
  expect(report.published).toBeGreaterThan(0);
  // Every published event has two matching subscriptions; unanswered publishes may add more.
  expect(report.deliveries).toBeGreaterThanOrEqual(report.published * 2);
  expect(report.delivered + report.deadLettered).toBe(report.deliveries);
}

/** Longer than a scenario's own waits, so a stuck scenario reports what it waited for rather than a bare jest timeout. */
const SCENARIO_TIMEOUT_MS = 480_000;

describe('faults (short form of npm run faults)', () => {
  it(
    'worker SIGKILLed twice mid-run: every delivery ends as its receiver deserved',
    async () => {
      const report = await runScenario('worker-kill', { FAULT_EVENTS: '40', FAULT_KILLS: '2' });
      expectNothingLost(report);
      expect(report.notes).toContain('2 worker kills');
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'api SIGKILLed mid-publish: the outbox relay starts every delivery it committed',
    async () => {
      expectNothingLost(await runScenario('api-kill', { FAULT_EVENTS: '120' }));
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'Temporal dev server and Postgres restarted mid-run: every open workflow finishes, nothing delivered twice',
    async () => {
      const report = await runScenario('restarts', { FAULT_EVENTS: '90' });
      expectNothingLost(report);
      expect(report.deliveredTwice).toBe(0);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'SIGTERM to the worker lets the attempts in flight finish and record their outcome',
    async () => {
      const report = await runScenario('graceful', { FAULT_EVENTS: '6' });
      expectNothingLost(report);
      expect(report.finishedBeforeExit).toBeGreaterThanOrEqual(report.inFlightAtTerm as number);
      expect(report.extraReceipts).toBe(0);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
