/**
 * `npm run rehearsal`: the production topology on 127.0.0.1 as plain processes (Postgres, a cluster of real Temporal
 * servers on it, api and worker replicas started with compose's commands and environment, Prometheus with compose's
 * config), driven by publishers over every api while an operator's restarts happen, then checked: every accepted
 * event delivered or dead-lettered as its receiver dictates, nothing lost, re-sent attempts counted, every workflow
 * visible by its tenant, every dashboard query answered. Prints the figures; exits 0 only if every check held.
 * REHEARSAL_RATE (events/s while the restarts happen), REHEARSAL_BURST (events published at once afterwards) and
 * REHEARSAL_KEEP (keep the run's folder with its logs) size and shape a run; .ci/run runs a short one. For sizing,
 * REHEARSAL_DISRUPT=off publishes steadily for REHEARSAL_STEADY_SECONDS instead of restarting anything, and
 * REHEARSAL_WORKERS and REHEARSAL_SHARDS change the topology.
 */
import { rmSync } from 'node:fs';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { CountingReceiver } from './faults/harness';
import { createPool } from '../libs/db/pool';
import { checkDeliveries, dashboardPanelsWithoutData, untilAllEnded, workflowsVisible } from './rehearsal/checks';
import { ResourceSampler } from './rehearsal/resources';
import { Topology } from './rehearsal/topology';
import {
  attemptReceivers,
  percentile,
  publish,
  Published,
  subscribedPaths,
  SUBSCRIPTIONS,
  SubscriptionName,
} from './rehearsal/traffic';

const RATE = Number(process.env.REHEARSAL_RATE || 6);
const BURST = Number(process.env.REHEARSAL_BURST || 600);
const DISRUPT = process.env.REHEARSAL_DISRUPT !== 'off';
const STEADY_SECONDS = Number(process.env.REHEARSAL_STEADY_SECONDS || 60);
const WORKERS = Number(process.env.REHEARSAL_WORKERS || 2);
/** Four attempts a few seconds apart, so a run's dead letters are final within it. */
const RETRY_SCHEDULE = ['0s', '2s', '4s', '8s'];
/** Generous for a receiver on this machine that answers at once, while every part shares two busy cores. */
const ATTEMPT_TIMEOUT_MS = 3_000;
/** The whole run stops by itself after this, whatever state it is in. */
const RUN_TIMEOUT_MS = Number(process.env.REHEARSAL_TIMEOUT_MS || 40 * 60_000);

const say = (message: string) => console.log(`[rehearsal ${new Date().toISOString().slice(11, 19)}] ${message}`);
const seconds = (ms: number) => Math.round(ms / 100) / 10;

async function createSubscriptions(
  apiUrl: string,
  apiKey: string,
  tenantId: string,
  receivers: Map<SubscriptionName, CountingReceiver>,
) {
  const paths = new Map<string, string>();
  for (const [name, eventTypes] of Object.entries(SUBSCRIPTIONS) as [SubscriptionName, readonly string[]][]) {
    const base = await receivers.get(name)!.start();
    const response = await fetch(`${apiUrl}/v1/subscriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant_id: tenantId, url: `${base}/${name}`, event_types: eventTypes }),
    });
    const body = (await response.json()) as { id: string };
    if (response.status !== 201) throw new Error(`subscription ${name}: ${response.status} ${JSON.stringify(body)}`);
    paths.set(body.id, `/${name}`);
  }
  return paths;
}

/** The operator's disruptions, one after the other, each timed. */
async function disrupt(topology: Topology, notes: string[]): Promise<void> {
  const timed = async (what: string, action: () => Promise<unknown>) => {
    const started = Date.now();
    await action();
    notes.push(`${what}: ${seconds(Date.now() - started)} s`);
    say(`${what} done`);
  };
  for (const replica of [...topology.apis, ...topology.workers])
    await timed(`rolling restart of ${replica.process.spec.name} (SIGTERM, start, ready)`, () =>
      replica.process.restart(),
    );
  const victim = topology.workers[0].process;
  await timed(`SIGKILL of ${victim.spec.name}, started again until ready`, async () => {
    await victim.kill();
    await victim.start();
  });
  const server = topology.temporal[0].process;
  await timed(`restart of ${server.spec.name} (SIGTERM, start, serving)`, () => server.restart());
  await timed('Postgres stopped for 3 s and started again', () => topology.restartPostgres(3_000));
}

async function main(): Promise<boolean> {
  Runtime.install({ shutdownSignals: [], logger: new DefaultLogger('ERROR') });
  const topology = new Topology({
    apis: 2,
    workers: WORKERS,
    temporalServers: 2,
    shards: process.env.REHEARSAL_SHARDS ? Number(process.env.REHEARSAL_SHARDS) : undefined,
    variables: {
      WEBHOOK_RETRY_SCHEDULE: RETRY_SCHEDULE.join(','),
      WEBHOOK_ATTEMPT_TIMEOUT: `${ATTEMPT_TIMEOUT_MS}ms`,
      WEBHOOK_ALLOWED_TARGETS: '127.0.0.1/32',
    },
    say,
  });
  const { receivers, attemptReceipts } = attemptReceivers(ATTEMPT_TIMEOUT_MS);
  const failures: string[] = [];
  const notes: string[] = [];
  let keep = Boolean(process.env.REHEARSAL_KEEP);
  const abandon = (why: string) => {
    say(`${why}: stopping everything`);
    void topology.stop().finally(() => process.exit(1));
  };
  const watchdog = setTimeout(() => abandon(`the run took over ${RUN_TIMEOUT_MS / 60_000} minutes`), RUN_TIMEOUT_MS);
  // The topology's processes lead process groups of their own: a Ctrl-C or a kill of the run must stop them too.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => abandon(signal));
  try {
    const startedAt = Date.now();
    await topology.start();
    say(`topology up in ${seconds(Date.now() - startedAt)} s; logs in ${topology.logDir}`);
    const members = await topology.membersPerService();
    notes.push(`Temporal servers in one cluster (per service, from the membership table): ${members}`);
    if (members < topology.temporal.length) failures.push(`only ${members} Temporal servers joined the cluster`);

    const sampler = new ResourceSampler(() => ({
      api: topology.apis.map((replica) => replica.process.pid ?? 0),
      worker: topology.workers.map((replica) => replica.process.pid ?? 0),
      temporal: topology.temporal.map((node) => node.process.pid ?? 0),
      postgres: [topology.postgres.child?.pid ?? 0],
    }));
    const apiUrls = topology.apis.map((replica) => replica.url);
    const tenantId = `tnt_rehearsal_${Date.now()}`;
    const subscriptionPaths = await createSubscriptions(apiUrls[0], topology.apiKey, tenantId, receivers);
    const runStart = Date.now();
    sampler.start();
    const writesBefore = await topology.databaseWrites();

    let disrupted = false;
    const steadyStart = Date.now();
    const [steady] = await Promise.all([
      publish({
        apiUrls,
        apiKey: topology.apiKey,
        tenantId,
        prefix: `steady_${runStart}`,
        count: Number.MAX_SAFE_INTEGER,
        parallel: 4,
        rate: RATE,
        stop: () => disrupted,
      }),
      (async () => {
        await new Promise((resolve) => setTimeout(resolve, DISRUPT ? 10_000 : STEADY_SECONDS * 1000));
        if (DISRUPT) await disrupt(topology, notes);
        disrupted = true;
      })(),
    ]);
    const steadySeconds = seconds(Date.now() - steadyStart);
    const burstStart = Date.now();
    const burst = await publish({
      apiUrls,
      apiKey: topology.apiKey,
      tenantId,
      prefix: `burst_${runStart}`,
      count: BURST,
      parallel: 16,
    });
    const burstMs = Date.now() - burstStart;
    const published: Published[] = [...steady, ...burst];
    say(`published ${steady.length} steadily over ${steadySeconds} s and ${burst.length} in a burst; draining...`);

    const pool = createPool(topology.postgres.url, 4);
    try {
      const open = await untilAllEnded(pool, tenantId, 15 * 60_000);
      const drainedMs = Date.now() - runStart;
      sampler.stop();
      const writesAfter = await topology.databaseWrites();
      if (open > 0) failures.push(`${open} deliveries still open after 15 minutes of draining`);
      const deliveries = await checkDeliveries(
        pool,
        tenantId,
        subscriptionPaths,
        published,
        attemptReceipts,
        { attempts: RETRY_SCHEDULE.length, attemptTimeoutMs: ATTEMPT_TIMEOUT_MS },
        subscribedPaths,
      );
      if (deliveries.missing > 0) failures.push(`${deliveries.missing} deliveries lost`);
      if (deliveries.wrong > 0)
        failures.push(
          `${deliveries.wrong} deliveries ended otherwise than their receiver said: ${deliveries.wrongExamples.join('; ')}`,
        );
      if (deliveries.unexplainedReceipts > 0)
        failures.push(`${deliveries.unexplainedReceipts} receipts of attempts the attempt log does not have`);

      const visible = await workflowsVisible(
        topology.temporalAddress,
        'default',
        tenantId,
        deliveries.deliveries,
        60_000,
      );
      if (visible !== deliveries.deliveries)
        failures.push(
          `Temporal visibility lists ${visible} workflows by TenantId for ${deliveries.deliveries} deliveries`,
        );

      // Two more scrapes, so the last deliveries are in Prometheus before the dashboard's queries are asked.
      await new Promise((resolve) => setTimeout(resolve, 12_000));
      const panels = await dashboardPanelsWithoutData(topology.prometheus.url, runStart, Date.now());
      for (const panel of panels.empty) failures.push(`dashboard query with no data: ${panel}`);

      const crashes = [...topology.processes, topology.prometheus.process].flatMap((part) => part.crashes);
      failures.push(...crashes);

      const ended = deliveries.delivered + deliveries.deadLettered;
      const usage = Object.fromEntries(
        [...sampler.usage].map(([part, use]) => [
          part,
          {
            cpu_s: seconds(use.cpuMs),
            cpu_ms_per_delivery: Math.round((use.cpuMs / Math.max(1, ended)) * 10) / 10,
            peak_pss_mib_one_process: Math.round(use.peakPssMiB),
            peak_pss_mib_all_processes: Math.round(use.peakTotalPssMiB),
          },
        ]),
      );
      const steadyLatency = steady.map((event) => event.latencyMs);
      const burstLatency = burst.map((event) => event.latencyMs);
      const summary = {
        topology: topology.describe(),
        published: { steady: steady.length, steady_rate_per_s: RATE, burst: burst.length },
        publish_ms: {
          steady_p50: percentile(steadyLatency, 50),
          steady_p99: percentile(steadyLatency, 99),
          burst_p50: percentile(burstLatency, 50),
          burst_p99: percentile(burstLatency, 99),
        },
        burst_accepted_per_s: Math.round(burst.length / (burstMs / 1000)),
        deliveries,
        seconds_from_first_publish_to_all_ended: seconds(drainedMs),
        deliveries_ended_per_s: Math.round((ended / (drainedMs / 1000)) * 10) / 10,
        workflows_visible_by_tenant: visible,
        dashboard: { queries: panels.queries, without_data: panels.empty.length },
        usage,
        // Per delivery ended: which database takes Postgres's writes (pg_stat_database's counters survive a clean restart).
        postgres_per_delivery: Object.fromEntries(
          Object.entries(writesAfter).map(([database, after]) => [
            database,
            {
              commits:
                Math.round(((after.commits - (writesBefore[database]?.commits ?? 0)) / Math.max(1, ended)) * 10) / 10,
              rows_written:
                Math.round(
                  ((after.rowsWritten - (writesBefore[database]?.rowsWritten ?? 0)) / Math.max(1, ended)) * 10,
                ) / 10,
            },
          ]),
        ),
        notes,
        failures,
      };
      console.log(JSON.stringify(summary, null, 2));
      console.log(`REHEARSAL_REPORT ${JSON.stringify(summary)}`);
    } finally {
      await pool.end();
    }
  } catch (error) {
    failures.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
  } finally {
    clearTimeout(watchdog);
    await Promise.all([...receivers.values()].map((receiver) => receiver.stop()));
    say('stopping the topology...');
    await topology.stop();
    if (failures.length > 0) keep = true;
    if (keep) say(`logs and data kept in ${topology.dir}`);
    else rmSync(topology.dir, { recursive: true, force: true });
  }
  for (const failure of failures) say(`FAILED: ${failure}`);
  say(failures.length === 0 ? 'every check held' : `${failures.length} checks failed`);
  return failures.length === 0;
}

main().then(
  (passed) => process.exit(passed ? 0 : 1),
  (error: unknown) => {
    console.error(`[rehearsal] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
