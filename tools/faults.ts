/**
 * `npm run faults -- [worker-kill|api-kill|restarts|graceful|all]`: fault scenarios against the whole product on
 * 127.0.0.1 (their own Postgres, Temporal dev server, api, worker and receiver), long form. Each prints what was
 * published, how every delivery ended against what its receiver deserved, and the duplicate receipts; it exits 1
 * when anything is missing or wrong, or when the ordered subscription's deliveries of one key overlapped or left a
 * key blocked. FAULT_EVENTS and FAULT_KILLS size the runs. The test suite runs a short form.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { apiKill, FaultReport, gracefulShutdown, restarts, workerKills } from './faults/scenarios';

const EVENTS = Number(process.env.FAULT_EVENTS || 1500);
const KILLS = Number(process.env.FAULT_KILLS || 20);

const scenarios: Record<string, () => Promise<FaultReport>> = {
  'worker-kill': () => workerKills(EVENTS, KILLS),
  'api-kill': () => apiKill(Math.ceil(EVENTS / 3)),
  restarts: () => restarts(Math.ceil(EVENTS / 3)),
  graceful: () => gracefulShutdown(Math.min(16, EVENTS)),
};

async function main(): Promise<void> {
  Runtime.install({ shutdownSignals: [], logger: new DefaultLogger('ERROR') });
  const wanted = process.argv[2] && process.argv[2] !== 'all' ? [process.argv[2]] : Object.keys(scenarios);
  let failed = false;
  for (const name of wanted) {
    const run = scenarios[name];
    if (!run) throw new Error(`unknown scenario ${name}; choose ${Object.keys(scenarios).join(', ')} or all`);
    console.log(`[faults] ${name}...`);
    const report = await run();
    console.log(JSON.stringify(report, null, 2));
    // One line for programs (the test suite's short form) to read.
    console.log(`FAULT_REPORT ${JSON.stringify(report)}`);
    if (
      [report.missing, report.wrong, report.unmatchedReceipts, report.interleaved, report.keysLeftBlocked].some(Boolean)
    )
      failed = true;
  }
  process.exitCode = failed ? 1 : 0;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(`[faults] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
