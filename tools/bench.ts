/**
 * `npm run bench`: the product exactly as `npm start` runs it (api and worker processes, embedded Postgres, the
 * Temporal dev server with its SQLite file and Web UI, the default limits), driven by publishers and a receiver in
 * this process, all on 127.0.0.1. Every mode runs against the same servers in one run, and prints a progress line
 * while it runs; at the end a summary table, and with BENCH_JSON=FILE the same figures as JSON. Everything stops by
 * itself. BENCH_LIMITS=off turns the per-tenant publish limit and the subscriptions' default limits off.
 *
 * BENCH_MODES (comma-separated, in order; default idle,probe,sustained,paced,burst,mixed,mixed-paced):
 *   idle         nothing to do for BENCH_IDLE_SECONDS (30): CPU per minute and memory of each part
 *   probe        the bare Temporal stack: the same workflow, input and start, with an attempt that does nothing
 *   probe-paced  the probe's workflows started at the paced mode's deliveries/s (BENCH_RATE x BENCH_SUBSCRIPTIONS, or
 *                80 % of the sustained rate): Temporal's own share of publish -> first attempt, start call to attempt
 *   sustained    BENCH_EVENTS events x BENCH_SUBSCRIPTIONS subscriptions, publishers unpaced, receiver answers 200
 *   paced        the same at BENCH_RATE events/s (default: 80 % of the sustained rate of this run)
 *   burst        BENCH_BURST_EVENTS events as fast as the publishers can send; then every delivery drains
 *   mixed        10 subscriptions of which 1 answers after 5 s; unpaced: do slow receivers starve the fast ones?
 *   mixed-paced  the same, paced at 80 % of the sustained rate (in deliveries/s)
 *   ordered      as sustained, to subscriptions with ordering per_entity, the events spread over BENCH_ORDERED_USERS
 *                (1000) user ids, so each user's deliveries go one at a time; its rate is also given as a share of
 *                the sustained (unordered) rate when sustained ran before it (BENCH_MODES=sustained,ordered)
 *   waiting      the receiver down: BENCH_WAITING deliveries parked on their retry timer, then memory read
 *   flood        BENCH_FLOOD_CLIENTS (200) anonymous clients, half scraping /metrics and half sending a new random
 *                bearer key each time (each one unknown, so the unknown-key cache does not help), for
 *                BENCH_FLOOD_SECONDS (10), while publishing paced at BENCH_RATE (default as paced, else 100 events/s);
 *                run `paced,flood` with one BENCH_RATE to read the publish latency without and with the flood
 *   traced       paced at each of BENCH_TRACE_RATES (10,30,60) events/s for BENCH_TRACE_SECONDS (20): publish ->
 *                first attempt divided into stages by the product's own spans (an OTLP collector in this process);
 *                with it in BENCH_MODES the whole run traces, so run it alone: tracing costs every mode CPU
 * With BENCH_COMPARE_URL (see bench/peer.ts) it starts nothing and runs idle, sustained, paced and burst against that
 * publish endpoint instead, its deliveries expected at the receiver (BENCH_RECEIVER_HOST, BENCH_RECEIVER_PORT).
 * CPU per process comes from /proc/<pid>/stat (utime + stime, the reaped children's included) before and after,
 * the Temporal server's once the work a mode defers (its workflow tasks' timeout timers) is done, the probe's alike;
 * memory is PSS (/proc/<pid>/smaps_rollup) of each part's process tree, sampled every second.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { Pool } from 'pg';
import { Agent, request } from 'undici';
import { AppConfig, loadConfig } from '../libs/config/config';
import { workflowTaskTimeoutMs } from '../libs/contracts/delivery-workflow';
import { createPool } from '../libs/db/pool';
import { freePort } from './embedded/free-port';
import { Launched, launchEmbedded } from './embedded/launcher';
import { loadLauncherConfig } from './embedded/launcher-config';
import { PeerTarget } from './bench/peer';
import { childrenMatching, ownCpuMs, treeCpuMs, treePssMiB } from './bench/process-stats';
import { ProbeLatency, ProbeResult, runProbe, runProbeLatency } from './bench/probe';
import { BenchReceiver } from './bench/receiver';
import { benchEvent, BenchEvent, percentile, send, Target } from './bench/target';
import { FIRST_ATTEMPT_STAGES, firstAttemptStages, StageFigures } from './bench/first-attempt-stages';
import { OtlpCollector } from './otlp-collector';

const number = (name: string, fallback: number) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}: "${raw}" is not a positive number`);
  return value;
};
const EVENTS = number('BENCH_EVENTS', 1000);
const SUBSCRIPTIONS = number('BENCH_SUBSCRIPTIONS', 2);
const BURST_EVENTS = number('BENCH_BURST_EVENTS', 3000);
const WAITING = number('BENCH_WAITING', 20_000);
const PROBE_WORKFLOWS = number('BENCH_PROBE_WORKFLOWS', 1500);
const PUBLISHERS = number('BENCH_CONCURRENCY', 16);
const TIMEOUT_MS = number('BENCH_TIMEOUT_MS', 15 * 60_000);
const COMPARE_URL = process.env.BENCH_COMPARE_URL || undefined;
/**
 * A phase stops waiting for deliveries once none has arrived for this long after its last publish: by default only
 * against a peer, whose deliveries may never reach the receiver; the product's retries wait a minute and more.
 */
const STALL_MS = number('BENCH_STALL_MS', COMPARE_URL ? 30_000 : TIMEOUT_MS);
const IDLE_SECONDS = number('BENCH_IDLE_SECONDS', 30);
const FLOOD_CLIENTS = number('BENCH_FLOOD_CLIENTS', 200);
const FLOOD_SECONDS = number('BENCH_FLOOD_SECONDS', 10);
const ORDERED_USERS = number('BENCH_ORDERED_USERS', 1000);
const TRACE_RATES = (process.env.BENCH_TRACE_RATES || '10,30,60').split(',').map(Number);
const TRACE_SECONDS = number('BENCH_TRACE_SECONDS', 20);
const TRACE_EXPORT_EVERY_MS = 500;
/** How late a timer may run on a busy server: its timer queue reads due tasks in batches. */
const TIMER_LAG_MS = 1000;
const COMPARE_MODES = ['idle', 'sustained', 'paced', 'burst'];
const KNOWN_MODES = [
  'idle',
  'probe',
  'probe-paced',
  'sustained',
  'paced',
  'burst',
  'mixed',
  'mixed-paced',
  'ordered',
  'waiting',
  'flood',
  'traced',
];
const DEFAULT_MODES = COMPARE_URL
  ? COMPARE_MODES
  : ['idle', 'probe', 'sustained', 'paced', 'burst', 'mixed', 'mixed-paced'];
const MODES = (process.env.BENCH_MODES || DEFAULT_MODES.join(',')).split(',').map((mode) => mode.trim());

const fmt = (n: number | undefined, digits = 1) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits));
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
/** `a` minus `b`, part by part. */
const minus = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(Object.keys(a).map((part) => [part, a[part] - b[part]]));

/** CPU milliseconds so far: each part's process tree, and this process's. */
interface CpuReading {
  parts: Record<string, number>;
  bench: number;
}

/** The CPU between two readings divided by `count` (deliveries, events): each part, their total and the bench's own. */
function cpuPer(before: CpuReading, after: CpuReading, count: number): CpuFigures {
  const parts = Object.fromEntries(
    Object.entries(minus(after.parts, before.parts)).map(([part, ms]) => [part, ms / Math.max(1, count)]),
  );
  return { parts, total: sum(Object.values(parts)), bench: (after.bench - before.bench) / Math.max(1, count) };
}

interface RelayStarts {
  eager: number;
  normal: number;
  failed: number;
}

interface WorkerCounters {
  throttled: number;
  starts: RelayStarts;
}

/** The peak PSS of each part and of the whole stack (the parts' sum at one sample), in MiB. */
interface MemoryPeaks {
  parts: Record<string, number>;
  stack: number;
  /** The product's own processes together. */
  apiPlusWorker?: number;
}

/** Samples the PSS of each part's process tree and keeps the peaks. */
class MemorySampler {
  private readonly peaks: MemoryPeaks = { parts: {}, stack: 0 };

  constructor(private readonly target: Target) {}

  sample(): void {
    const now: Record<string, number> = {};
    for (const [part, pid] of Object.entries(this.target.parts())) if (pid !== undefined) now[part] = treePssMiB(pid);
    for (const [part, mib] of Object.entries(now)) this.peaks.parts[part] = Math.max(this.peaks.parts[part] ?? 0, mib);
    this.peaks.stack = Math.max(this.peaks.stack, sum(Object.values(now)));
    if (now.api !== undefined && now.worker !== undefined)
      this.peaks.apiPlusWorker = Math.max(this.peaks.apiPlusWorker ?? 0, now.api + now.worker);
  }

  result(): MemoryPeaks {
    return structuredClone(this.peaks);
  }
}

interface IdleResult {
  seconds: number;
  cpuMsPerMinute: { parts: Record<string, number>; total: number };
  pssMiB: MemoryPeaks;
}

/** CPU milliseconds per delivery or event: each part, their total, and the bench's own. */
interface CpuFigures {
  parts: Record<string, number>;
  total: number;
  bench: number;
}

interface ModeResult {
  mode: string;
  events: number;
  deliveries: number;
  delivered: number;
  seconds: number;
  publishSeconds: number;
  deliveriesPerSecond: number;
  acceptedEventsPerSecond: number;
  /** Offered load of a paced mode, events/s. */
  rate?: number;
  publishMs: { p50: number; p99: number };
  firstAttemptMs: { p50: number; p99: number };
  /** The fast receivers' figures in the mixed modes. */
  fast?: { delivered: number; deliveriesPerSecond: number; firstAttemptMs: { p50: number; p99: number } };
  /** Per part, their total, and the bench's own (its publishers and receiver). */
  cpuMsPerDelivery: CpuFigures;
  /** While the events were being published (the burst's acceptance), per event: what holds the publishers back. */
  cpuMsPerEventPublishing: CpuFigures;
  pssMiB: MemoryPeaks;
  duplicates: number;
  /** Attempts the subscriptions' limits refused a permit (each then waited on a durable timer). */
  throttled?: number;
  /** The outbox relay's workflow starts: eager (first task handed straight to the worker), normal, failed. */
  starts?: RelayStarts;
  /** Every delivery's workflow history: how many went beyond a delivered-at-once delivery's, and its timers. */
  histories?: DeliveryHistories;
  waiting?: { parked: number; pssMiB: Record<string, number> };
  /** The traced mode's publish -> first attempt, stage by stage. */
  stages?: StageFigures;
  /** The flood's own requests, by what they asked and what they got. */
  flood?: { clients: number; seconds: number; requestsPerSecond: number; answers: Record<string, number> };
}

/** The product the bench launched: its api, worker, Temporal server and Postgres. */
/** A delivery attempted once, at once: started, one workflow task (3 events), the attempt marker, the status upsert, completed. */
const DELIVERED_AT_ONCE_EVENTS = 7;

interface DeliveryHistories {
  deliveries: number;
  /** Deliveries whose history has more than DELIVERED_AT_ONCE_EVENTS events. */
  longer: number;
  throttleTimers: number;
  mostEvents: number;
}

class ProductTarget implements Target {
  private readonly pids: { temporal?: number; postgres?: number };
  private tenants = 0;

  constructor(
    readonly launched: Launched,
    readonly config: AppConfig,
    private readonly agent: Agent,
    readonly pool: Pool,
  ) {
    this.pids = {
      temporal: childrenMatching(process.pid, /start-dev/)[0],
      postgres: childrenMatching(process.pid, /postgres/)[0],
    };
  }

  parts(): Record<string, number | undefined> {
    // Undefined while the launcher restarts the part.
    return { api: this.launched.api?.pid, worker: this.launched.worker?.pid, ...this.pids };
  }

  async call(method: 'POST' | 'GET', path: string, body?: unknown): Promise<any> {
    const headers = { authorization: `Bearer ${this.config.apiKeys[0]}`, 'content-type': 'application/json' };
    const url = `${this.launched.apiUrl}${path}`;
    return JSON.parse(
      await send(this.agent, url, method, headers, body === undefined ? undefined : JSON.stringify(body)),
    );
  }

  async subscribe(
    urls: string[],
    fields: Record<string, unknown> = {},
  ): Promise<{ tenantId: string; subscriptionIds: string[] }> {
    const tenantId = `tnt_bench_${++this.tenants}_${Date.now().toString(36)}`;
    const subscriptionIds: string[] = [];
    for (const url of urls)
      subscriptionIds.push(
        (await this.call('POST', '/v1/subscriptions', { tenant_id: tenantId, url, event_types: ['user.*'], ...fields }))
          .id,
      );
    return { tenantId, subscriptionIds };
  }

  async publish(event: BenchEvent): Promise<void> {
    await this.call('POST', '/v1/events', event);
  }

  /** From the worker's /metrics: webhook_attempts_throttled_total and webhook_outbox_starts_total, summed over their other labels. */
  async workerCounters(): Promise<WorkerCounters> {
    const response = await request(`${this.launched.workerUrl}/metrics`, { dispatcher: this.agent });
    const counters: WorkerCounters = { throttled: 0, starts: { eager: 0, normal: 0, failed: 0 } };
    for (const line of (await response.body.text()).split('\n')) {
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (line.startsWith('webhook_attempts_throttled_total')) counters.throttled += value;
      const outcome = /^webhook_outbox_starts_total\{.*outcome="(eager|normal|failed)"/.exec(line)?.[1];
      if (outcome) counters.starts[outcome as keyof RelayStarts] += value;
    }
    return counters;
  }

  /**
   * Reads the history of every delivery of the tenant, after the mode's figures are taken. Every receiver of the
   * modes that ask answers 200 within the attempt timeout, so each timer in them is a throttle timer.
   */
  async histories(tenantId: string): Promise<DeliveryHistories> {
    const { rows } = await this.pool.query<{ workflow_id: string }>(
      `SELECT workflow_id FROM deliveries WHERE tenant_id = $1::text`,
      [tenantId],
    );
    const client = new Client({ connection: await Connection.connect({ address: this.launched.temporalAddress }) });
    const found: DeliveryHistories = { deliveries: rows.length, longer: 0, throttleTimers: 0, mostEvents: 0 };
    let next = 0;
    try {
      await Promise.all(
        Array.from({ length: PUBLISHERS }, async () => {
          while (next < rows.length) {
            const events = (await client.workflow.getHandle(rows[next++].workflow_id).fetchHistory()).events ?? [];
            if (events.length > DELIVERED_AT_ONCE_EVENTS) found.longer += 1;
            found.mostEvents = Math.max(found.mostEvents, events.length);
            found.throttleTimers += events.filter((event) => event.timerStartedEventAttributes).length;
          }
        }),
      );
    } finally {
      await client.connection.close();
    }
    return found;
  }
}

class Bench {
  /**
   * @param temporalDeferredMs how long after a mode's last workflow task its Temporal server still works for it:
   *   every task's timeout timer fires that long after the task, and the server then loads the run again (from
   *   SQLite once its cache has moved on) to find the task done. A mode's Temporal CPU is read after it, so that
   *   work is the mode's own and not the next one's; 0 for a peer.
   */
  constructor(
    private readonly target: Target,
    private readonly receiver: BenchReceiver,
    private readonly temporalDeferredMs: number,
  ) {}

  /** The modes that need more of the product than its publish endpoint. */
  private get product(): ProductTarget {
    if (!(this.target instanceof ProductTarget)) throw new Error('this mode runs on the product only');
    return this.target;
  }

  /** CPU milliseconds of each part's process tree so far, and of this process. */
  private cpu(): CpuReading {
    const parts: Record<string, number> = {};
    for (const [part, pid] of Object.entries(this.target.parts())) if (pid !== undefined) parts[part] = treeCpuMs(pid);
    return { parts, bench: ownCpuMs() };
  }

  private async workerCounters(): Promise<WorkerCounters | undefined> {
    return this.target instanceof ProductTarget ? this.target.workerCounters() : undefined;
  }

  /** Nothing published for `seconds`: what the stack costs while it waits for work. */
  async idle(seconds: number): Promise<IdleResult> {
    const memory = new MemorySampler(this.target);
    const before = this.cpu();
    const started = performance.now();
    while (performance.now() - started < seconds * 1000) {
      await sleep(1000);
      memory.sample();
      process.stdout.write(`\r[bench] idle: ${fmt((performance.now() - started) / 1000, 0)}/${seconds}s        `);
    }
    process.stdout.write('\n');
    const minutes = (performance.now() - started) / 60_000;
    const parts = Object.fromEntries(
      Object.entries(minus(this.cpu().parts, before.parts)).map(([part, ms]) => [part, ms / minutes]),
    );
    return { seconds, cpuMsPerMinute: { parts, total: sum(Object.values(parts)) }, pssMiB: memory.result() };
  }

  /**
   * Publishes `events` events to the tenant (paced at `rate` events/s when given), waits for `expected` receipts,
   * and reads CPU and memory around it.
   */
  async drive(
    mode: string,
    options: {
      tenantId: string;
      events: number;
      expected: number;
      rate?: number;
      /** The events' user ids cycle through this many (each event its own user when absent). */
      users?: number;
      until?: () => Promise<boolean>;
      progress?: () => string;
    },
  ): Promise<{
    base: ModeResult;
    publishedAt: Map<string, number>;
  }> {
    this.receiver.reset();
    const { tenantId, events, expected, rate } = options;
    const publishLatencies: number[] = [];
    const publishedAt = new Map<string, number>();
    let published = 0;
    const memory = new MemorySampler(this.target);
    const cpuBefore = this.cpu();
    const countersBefore = await this.workerCounters();
    const started = performance.now();
    const progressDone = options.progress ?? (() => `delivered ${this.receiver.received}/${expected}`);
    const progress = setInterval(() => {
      memory.sample();
      const seconds = (performance.now() - started) / 1000;
      process.stdout.write(
        `\r[bench] ${mode}: ${fmt(seconds, 0)}s  published ${published}/${events}  ${progressDone()}        `,
      );
    }, 1000);
    let next = 0;
    await Promise.all(
      Array.from({ length: PUBLISHERS }, async () => {
        while (next < events) {
          const n = next++;
          if (rate) {
            const due = started + (n * 1000) / rate;
            if (due > performance.now()) await sleep(due - performance.now());
          }
          const event = benchEvent(tenantId, n, options.users);
          const sentAt = performance.now();
          publishedAt.set(event.event_id, sentAt);
          await this.target.publish(event);
          publishLatencies.push(performance.now() - sentAt);
          published += 1;
        }
      }),
    );
    const publishedEnd = performance.now();
    const cpuPublished = this.cpu();
    const publishSeconds = (publishedEnd - started) / 1000;
    const giveUpAt = publishedEnd + TIMEOUT_MS;
    const stalled = () => performance.now() - Math.max(publishedEnd, this.receiver.lastArrivalAt) > STALL_MS;
    const done = options.until ?? (async () => this.receiver.received >= expected || stalled());
    while (!(await done()) && performance.now() < giveUpAt) await sleep(200);
    memory.sample();
    clearInterval(progress);
    process.stdout.write('\n');
    const arrivals = [...this.receiver.arrivals.values()].flat();
    const lastArrival = arrivals.length > 0 ? Math.max(...arrivals) : performance.now();
    const seconds = (lastArrival - started) / 1000;
    // The servers finish the last workflow tasks after the last receipt; their CPU belongs to this run.
    await sleep(1000);
    const cpuAfter = this.cpu();
    if (this.temporalDeferredMs > 0) {
      await sleep(this.temporalDeferredMs);
      cpuAfter.parts.temporal = this.cpu().parts.temporal;
    }
    const countersAfter = await this.workerCounters();
    const delivered = this.receiver.received;
    const firstAttempts: number[] = [];
    for (const [key, times] of this.receiver.arrivals) {
      const sentAt = publishedAt.get(key.split(' ')[0]);
      if (sentAt !== undefined) firstAttempts.push(Math.min(...times) - sentAt);
    }
    return {
      publishedAt,
      base: {
        mode,
        events,
        deliveries: expected,
        delivered,
        seconds,
        publishSeconds,
        deliveriesPerSecond: delivered / seconds,
        acceptedEventsPerSecond: events / publishSeconds,
        rate,
        publishMs: { p50: percentile(publishLatencies, 50), p99: percentile(publishLatencies, 99) },
        firstAttemptMs: { p50: percentile(firstAttempts, 50), p99: percentile(firstAttempts, 99) },
        cpuMsPerEventPublishing: cpuPer(cpuBefore, cpuPublished, events),
        cpuMsPerDelivery: cpuPer(cpuBefore, cpuAfter, options.until ? expected : delivered),
        pssMiB: memory.result(),
        duplicates: [...this.receiver.arrivals.values()].reduce((total, times) => total + times.length - 1, 0),
        ...(countersBefore &&
          countersAfter && {
            throttled: countersAfter.throttled - countersBefore.throttled,
            starts: {
              eager: countersAfter.starts.eager - countersBefore.starts.eager,
              normal: countersAfter.starts.normal - countersBefore.starts.normal,
              failed: countersAfter.starts.failed - countersBefore.starts.failed,
            },
          }),
      },
    };
  }

  async probeLatency(rate: number): Promise<ProbeLatency> {
    const latency = await runProbeLatency({
      temporalAddress: this.product.launched.temporalAddress,
      workflows: EVENTS * SUBSCRIPTIONS,
      rate,
      tuning: this.product.config.worker,
    });
    // Its deferred work done before the next mode reads its CPU.
    await sleep(this.temporalDeferredMs);
    return latency;
  }

  async probe(): Promise<ProbeResult> {
    return runProbe({
      temporalAddress: this.product.launched.temporalAddress,
      workflows: PROBE_WORKFLOWS,
      starters: 32,
      tuning: this.product.config.worker,
      temporalDeferredMs: this.temporalDeferredMs,
    });
  }

  /** Paced at `rate`, traced: where the time from publish to first attempt goes, from the spans of every delivery. */
  async traced(mode: string, rate: number, collector: OtlpCollector): Promise<ModeResult> {
    collector.spans.length = 0;
    const { tenantId, subscriptionIds } = await this.product.subscribe(
      Array.from({ length: SUBSCRIPTIONS }, (_, i) => `${this.receiver.url}/fast/${i}`),
    );
    const events = Math.round(rate * TRACE_SECONDS);
    const { base } = await this.drive(mode, { tenantId, events, expected: events * SUBSCRIPTIONS, rate });
    // The processes export their spans in batches every OTEL_BSP_SCHEDULE_DELAY (set below).
    await sleep(3 * TRACE_EXPORT_EVERY_MS);
    const firstArrivalMs = (workflowId: string) => {
      const [, eventId, subscriptionId] = workflowId.split(':');
      const times = this.receiver.arrivals.get(`${eventId} /fast/${subscriptionIds.indexOf(subscriptionId)}`);
      return times && performance.timeOrigin + Math.min(...times);
    };
    base.stages = firstAttemptStages(collector.spans, firstArrivalMs, base.deliveries);
    return base;
  }

  /** Every receiver fast; `ordered`: the subscriptions order per entity, the events spread over ORDERED_USERS users. */
  async allFast(mode: string, events: number, options: { rate?: number; ordered?: boolean } = {}): Promise<ModeResult> {
    const { tenantId } = await (options.ordered ? this.product : this.target).subscribe(
      Array.from({ length: SUBSCRIPTIONS }, (_, i) => `${this.receiver.url}/fast/${i}`),
      options.ordered ? { ordering: 'per_entity' } : {},
    );
    const { base } = await this.drive(mode, {
      tenantId,
      events,
      expected: events * SUBSCRIPTIONS,
      rate: options.rate,
      users: options.ordered ? ORDERED_USERS : undefined,
    });
    if (this.target instanceof ProductTarget) base.histories = await this.target.histories(tenantId);
    return base;
  }

  /**
   * Publishes paced at `rate` for FLOOD_SECONDS while FLOOD_CLIENTS anonymous clients ask as fast as they can; the
   * flood ends with the last publish, or at three times FLOOD_SECONDS if the publishers fall that far behind.
   */
  async flood(mode: string, rate: number): Promise<ModeResult> {
    const { tenantId } = await this.target.subscribe(
      Array.from({ length: SUBSCRIPTIONS }, (_, i) => `${this.receiver.url}/fast/${i}`),
    );
    const agent = new Agent({ connections: FLOOD_CLIENTS, keepAliveTimeout: 30_000 });
    const answers: Record<string, number> = {};
    let flooding = true;
    let floodEndedAt = 0;
    const endFlood = () => {
      if (flooding) floodEndedAt = performance.now();
      flooding = false;
    };
    const cap = setTimeout(endFlood, 3 * FLOOD_SECONDS * 1000);
    const started = performance.now();
    const clients = Array.from({ length: FLOOD_CLIENTS }, async (_, client) => {
      const scraper = client % 2 === 0;
      while (flooding) {
        const kind = scraper ? '/metrics' : 'bad key';
        try {
          const response = await request(
            `${this.product.launched.apiUrl}${scraper ? '/metrics' : '/v1/subscriptions'}`,
            {
              dispatcher: agent,
              headers: scraper ? {} : { authorization: `Bearer iaw_tk_${randomBytes(32).toString('base64url')}` },
            },
          );
          await response.body.dump();
          answers[`${kind} ${response.statusCode}`] = (answers[`${kind} ${response.statusCode}`] ?? 0) + 1;
        } catch (error) {
          const code = (error as { code?: string }).code ?? 'error';
          answers[`${kind} ${code}`] = (answers[`${kind} ${code}`] ?? 0) + 1;
        }
      }
    });
    const events = Math.round(rate * FLOOD_SECONDS);
    const expected = events * SUBSCRIPTIONS;
    const { base } = await this.drive(mode, {
      tenantId,
      events,
      expected,
      rate,
      // Asked first once every event is published: the flood's end.
      until: async () => {
        endFlood();
        return this.receiver.received >= expected;
      },
    });
    clearTimeout(cap);
    await Promise.all(clients);
    await agent.close();
    const seconds = (floodEndedAt - started) / 1000;
    base.flood = { clients: FLOOD_CLIENTS, seconds, requestsPerSecond: sum(Object.values(answers)) / seconds, answers };
    return base;
  }

  async mixed(mode: string, events: number, rate?: number): Promise<ModeResult> {
    const urls = Array.from({ length: 10 }, (_, i) => `${this.receiver.url}/${i === 0 ? 'slow' : 'fast'}/${i}`);
    const { tenantId } = await this.target.subscribe(urls);
    const { base, publishedAt } = await this.drive(mode, { tenantId, events, expected: events * urls.length, rate });
    const fastTimes: number[] = [];
    const fastFirst: number[] = [];
    for (const [key, times] of this.receiver.arrivals) {
      const [eventId, path] = key.split(' ');
      if (!path.startsWith('/fast')) continue;
      fastTimes.push(...times);
      fastFirst.push(Math.min(...times) - (publishedAt.get(eventId) ?? NaN));
    }
    const firstPublish = Math.min(...publishedAt.values());
    const fastSeconds = (Math.max(...fastTimes) - firstPublish) / 1000;
    base.fast = {
      delivered: fastTimes.length,
      deliveriesPerSecond: fastTimes.length / fastSeconds,
      firstAttemptMs: { p50: percentile(fastFirst, 50), p99: percentile(fastFirst, 99) },
    };
    if (this.target instanceof ProductTarget) base.histories = await this.target.histories(tenantId);
    return base;
  }

  /** The receiver down (a port nothing listens on): every delivery fails its first attempt and parks on its retry timer. */
  async waiting(deliveries: number): Promise<ModeResult> {
    const downUrl = `http://127.0.0.1:${await freePort()}/down`;
    const { tenantId } = await this.target.subscribe(Array.from({ length: SUBSCRIPTIONS }, () => downUrl));
    const events = Math.ceil(deliveries / SUBSCRIPTIONS);
    const expected = events * SUBSCRIPTIONS;
    const parked = async () =>
      (
        await this.product.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM deliveries WHERE tenant_id = $1::text AND status = 'retry_scheduled'`,
          [tenantId],
        )
      ).rows[0].n;
    let lastCount = 0;
    const { base } = await this.drive('waiting', {
      tenantId,
      events,
      expected,
      until: async () => {
        lastCount = await parked();
        return lastCount >= expected;
      },
      progress: () => `parked ${lastCount}/${expected}`,
    });
    await sleep(2000);
    const memory = new MemorySampler(this.target);
    memory.sample();
    base.delivered = 0;
    base.waiting = { parked: lastCount, pssMiB: memory.result().parts };
    return base;
  }
}

/** Plain HTTP POSTs of a delivery-sized body to the same receiver, as many in parallel: the HTTP path's own ceiling. */
async function plainPostRate(url: string, count: number): Promise<number> {
  const body = JSON.stringify({
    event_id: 'evt_plain',
    data: { user: { id: 'usr_plain', email: 'user@example.com' } },
    delivery: { attempt: 1 },
  });
  const agent = new Agent({ connections: PUBLISHERS });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: PUBLISHERS }, async () => {
      while (next++ < count) {
        const response = await request(url, {
          method: 'POST',
          body,
          dispatcher: agent,
          headers: { 'content-type': 'application/json' },
        });
        await response.body.dump();
      }
    }),
  );
  await agent.close();
  return count / ((performance.now() - started) / 1000);
}

const NO_PARTS = 'not counted: no processes named (BENCH_COMPARE_PIDS)';

/** Figures per part, in the parts' order, and their total: `api 1.0, worker 2.0: total 3.0`. */
const byPart = (figures: Record<string, number>, total: string) =>
  Object.keys(figures).length === 0
    ? NO_PARTS
    : `${Object.entries(figures)
        .map(([part, value]) => `${part} ${fmt(value)}`)
        .join(', ')}${total}`;

const memoryRow = (pss: MemoryPeaks) =>
  byPart(
    pss.parts,
    `; whole stack ${fmt(pss.stack)}` +
      (pss.apiPlusWorker === undefined ? '' : `, api + worker ${fmt(pss.apiPlusWorker)}`),
  );

function summary(run: {
  stack: string;
  results: ModeResult[];
  probe?: ProbeResult;
  probeLatency?: ProbeLatency;
  idle?: IdleResult;
  plainRate: number;
}): string {
  const { results, probe, probeLatency, idle } = run;
  const sustained = results.find((r) => r.mode === 'sustained');
  const lines: string[] = ['', '| figure | value |', '|---|---|'];
  const row = (figure: string, value: string) => lines.push(`| ${figure} | ${value} |`);
  row('stack', run.stack);
  if (idle) {
    row(
      `idle (${idle.seconds} s): CPU ms per minute`,
      byPart(idle.cpuMsPerMinute.parts, `: total ${fmt(idle.cpuMsPerMinute.total)}`),
    );
    row('idle: PSS peak, MiB', memoryRow(idle.pssMiB));
  }
  if (probe) {
    row(
      'probe: bare Temporal, same workflow, no-op attempt',
      `${fmt(probe.perSecond)} workflows/s (${probe.workflows} in ${fmt(probe.seconds)} s, ${fmt(probe.eagerShare * 100, 0)} % eager); CPU ms/workflow Temporal ${fmt(probe.cpuMsPerWorkflow.temporal)}, probe process ${fmt(probe.cpuMsPerWorkflow.probeProcess)}`,
    );
  }
  if (probeLatency)
    row(
      `probe paced (${fmt(probeLatency.rate)} workflows/s): eager start call; call -> attempt begins`,
      `p50 ${fmt(probeLatency.startMs.p50)} / p99 ${fmt(probeLatency.startMs.p99)} ms; ` +
        `p50 ${fmt(probeLatency.toAttemptMs.p50)} / p99 ${fmt(probeLatency.toAttemptMs.p99)} ms (${probeLatency.workflows} workflows)`,
    );
  for (const r of results) {
    const cpu = r.cpuMsPerDelivery;
    const head = `${r.mode}${r.rate ? ` (${fmt(r.rate)} events/s offered)` : ''}`;
    if (r.mode === 'waiting') {
      row(
        head,
        `${r.waiting?.parked}/${r.deliveries} parked on their retry timer; PSS, MiB: ${byPart(r.waiting?.pssMiB ?? {}, '')}`,
      );
      continue;
    }
    row(
      `${head}: deliveries/s`,
      `${fmt(r.deliveriesPerSecond)} (${r.delivered}/${r.deliveries} in ${fmt(r.seconds)} s)` +
        (r.mode === 'sustained' && probe
          ? `, ${fmt((100 * r.deliveriesPerSecond) / probe.perSecond, 0)} % of the probe`
          : '') +
        (r.mode === 'ordered' && sustained
          ? `, ${fmt((100 * r.deliveriesPerSecond) / sustained.deliveriesPerSecond, 0)} % of sustained (unordered)`
          : ''),
    );
    row(
      `${head}: publish accepted`,
      `${fmt(r.acceptedEventsPerSecond)} events/s (${r.events} in ${fmt(r.publishSeconds)} s); latency p50 ${fmt(r.publishMs.p50)} / p99 ${fmt(r.publishMs.p99)} ms`,
    );
    if (r.flood)
      row(
        `${head}: flood`,
        `${r.flood.clients} clients for ${fmt(r.flood.seconds)} s, ${fmt(r.flood.requestsPerSecond)} requests/s; ${Object.entries(
          r.flood.answers,
        )
          .map(([answer, count]) => `${answer}: ${count}`)
          .join(', ')}`,
      );
    row(`${head}: publish -> first attempt`, `p50 ${fmt(r.firstAttemptMs.p50)} / p99 ${fmt(r.firstAttemptMs.p99)} ms`);
    if (r.fast) {
      row(
        `${head}: fast receivers`,
        `${fmt(r.fast.deliveriesPerSecond)} deliveries/s` +
          (sustained
            ? ` (${fmt((100 * r.fast.deliveriesPerSecond) / sustained.deliveriesPerSecond, 0)} % of sustained)`
            : '') +
          `; first attempt p50 ${fmt(r.fast.firstAttemptMs.p50)} / p99 ${fmt(r.fast.firstAttemptMs.p99)} ms`,
      );
    }
    row(
      `${head}: CPU ms/delivery`,
      `${byPart(cpu.parts, `: total ${fmt(cpu.total)}`)} (bench load + receiver ${fmt(cpu.bench)})`,
    );
    if (r.mode === 'burst') {
      const publishing = r.cpuMsPerEventPublishing;
      row(
        `${head}: CPU ms per event while publishing`,
        `${byPart(publishing.parts, `: total ${fmt(publishing.total)}`)} (bench load ${fmt(publishing.bench)}); ` +
          `${fmt((1000 * availableParallelism()) / (publishing.total + publishing.bench), 0)} events/s would fill the ${availableParallelism()} cores`,
      );
    }
    row(`${head}: PSS peak, MiB`, memoryRow(r.pssMiB));
    if (r.histories)
      row(
        `${head}: histories`,
        `${r.histories.longer} of ${r.histories.deliveries} deliveries beyond ${DELIVERED_AT_ONCE_EVENTS} events ` +
          `(most ${r.histories.mostEvents}); ${r.histories.throttleTimers} throttle timers`,
      );
    if (r.stages)
      row(
        `${head}: first attempt by stage, p50 / p99 ms (${r.stages.traced} of ${r.stages.deliveries} traced)`,
        FIRST_ATTEMPT_STAGES.map(
          ([stage]) => `${stage} ${fmt(r.stages?.ms[stage].p50)} / ${fmt(r.stages?.ms[stage].p99)}`,
        ).join(', '),
      );
    row(`${head}: receipts beyond one`, String(r.duplicates));
    if (r.throttled !== undefined) row(`${head}: attempts refused a permit`, String(r.throttled));
    if (r.starts) {
      const started = r.starts.eager + r.starts.normal;
      row(
        `${head}: relay starts`,
        `${r.starts.eager} eager, ${r.starts.normal} normal (${fmt(started > 0 ? (100 * r.starts.eager) / started : NaN, 0)} % eager), ${r.starts.failed} failed`,
      );
    }
  }
  const peaks = [...(idle ? [idle.pssMiB] : []), ...results.map((r) => r.pssMiB)];
  if (peaks.length > 0)
    row(
      'PSS peak over every mode, MiB',
      `whole stack ${fmt(Math.max(...peaks.map((p) => p.stack)))}` +
        (peaks.some((p) => p.apiPlusWorker !== undefined)
          ? `, api + worker ${fmt(Math.max(...peaks.map((p) => p.apiPlusWorker ?? 0)))}`
          : ''),
    );
  row('plain HTTP POST rate to the same receiver', `${fmt(run.plainRate)} requests/s (${PUBLISHERS} in parallel)`);
  return lines.join('\n');
}

/** The limits the product runs with, as `npm start` would read them from this environment. */
const limitsOf = (config: AppConfig) =>
  `PUBLISH_RATE_LIMIT ${config.publishRatePerTenant}, SUBSCRIPTION_MAX_IN_FLIGHT ${config.subscriptionLimits.maxInFlight}, ` +
  `SUBSCRIPTION_MAX_PER_SECOND ${config.subscriptionLimits.maxPerSecond} (0: no cap)`;

/** The product as `npm start` runs it, on free ports and a data directory of its own, removed at the end. */
async function launchProduct(agent: Agent): Promise<{ target: ProductTarget; stack: string; stop(): Promise<void> }> {
  if (process.env.BENCH_LIMITS === 'off') {
    process.env.PUBLISH_RATE_LIMIT = '0';
    process.env.SUBSCRIPTION_MAX_IN_FLIGHT = '0';
    process.env.SUBSCRIPTION_MAX_PER_SECOND = '0';
  } else if (process.env.BENCH_LIMITS !== undefined && process.env.BENCH_LIMITS !== '')
    throw new Error(`BENCH_LIMITS: "${process.env.BENCH_LIMITS}" is not "off"`);
  const dataDir = mkdtempSync(join(tmpdir(), 'iaw-bench-'));
  chmodSync(dataDir, 0o755); // embedded Postgres runs as an unprivileged user under root
  // Also when a signal ends the bench: the launcher stops the parts, then exits.
  process.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  const apiKey = 'bench-service-key-0123456789';
  const base = loadConfig();
  const config = {
    ...base,
    port: await freePort(),
    grpcPort: await freePort(),
    workerMetricsPort: await freePort(),
    workerSdkMetricsPort: await freePort(),
    apiKeys: [apiKey],
    // `waiting`'s deliveries must stay parked: there the retry waits an hour.
    delivery: MODES.includes('waiting') ? { ...base.delivery, retryScheduleMs: [0, 3_600_000] } : base.delivery,
  };
  const launched = await launchEmbedded({
    config,
    apiKey,
    dataDir,
    temporalCliPath: loadLauncherConfig(process.env).temporalCliPath,
    postgresDir: join(dataDir, 'postgres'),
    postgresPort: await freePort(),
    temporalPort: undefined,
    temporalUiPort: await freePort(),
    temporalDbFile: join(dataDir, 'temporal.db'),
    say: (message) => console.log(`[bench] ${message}`),
    childOutput: process.env.BENCH_VERBOSE ? 'inherit' : 'ignore',
    // The bench's receiver is on 127.0.0.1, which the SSRF guard refuses unless allowlisted.
    outboundAllowlist: [...new Set([...config.outboundAllowlist, '127.0.0.1/32'])],
  });
  const pool = createPool(launched.databaseUrl, 2);
  return {
    target: new ProductTarget(launched, config, agent, pool),
    stack: `the product as npm start runs it; ${limitsOf(config)}`,
    async stop() {
      await pool.end();
      await launched.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const known = COMPARE_URL ? COMPARE_MODES : KNOWN_MODES;
  const unknown = MODES.filter((mode) => !known.includes(mode));
  if (unknown.length > 0)
    throw new Error(
      `BENCH_MODES: unknown ${unknown.join(', ')}; known${COMPARE_URL ? ' with BENCH_COMPARE_URL' : ''}: ${known.join(', ')}`,
    );
  const receiver = new BenchReceiver();
  await receiver.start(process.env.BENCH_RECEIVER_HOST || '127.0.0.1', number('BENCH_RECEIVER_PORT', 0));
  const agent = new Agent({ connections: PUBLISHERS, keepAliveTimeout: 30_000 });
  // The api and the worker trace when started with an OTLP endpoint in their environment.
  const collector = MODES.includes('traced') && !COMPARE_URL ? new OtlpCollector() : undefined;
  if (collector) {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = await collector.start();
    process.env.OTEL_BSP_SCHEDULE_DELAY = String(TRACE_EXPORT_EVERY_MS);
    // Every span of every delivery is kept: none is dropped for a full queue between two exports.
    process.env.OTEL_BSP_MAX_QUEUE_SIZE = '100000';
    process.env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE = '4096';
  }
  const stack = COMPARE_URL
    ? {
        target: new PeerTarget(COMPARE_URL, process.env, agent),
        stack: `a peer at ${COMPARE_URL}, its deliveries expected at ${receiver.url}/fast/0..${SUBSCRIPTIONS - 1}`,
        stop: async () => undefined,
      }
    : await launchProduct(agent);
  if (COMPARE_URL) console.log(`[bench] ${stack.stack}`);
  const bench = new Bench(
    stack.target,
    receiver,
    stack.target instanceof ProductTarget
      ? workflowTaskTimeoutMs(stack.target.config.delivery.attemptTimeoutMs) + TIMER_LAG_MS
      : 0,
  );
  const results: ModeResult[] = [];
  let probe: ProbeResult | undefined;
  let probeLatency: ProbeLatency | undefined;
  let idle: IdleResult | undefined;
  try {
    // Warm-up: deliveries end to end, so the figures start once the worker has bundled its workflows and polls.
    const warm = await stack.target.subscribe(
      Array.from({ length: SUBSCRIPTIONS }, (_, i) => `${receiver.url}/fast/${i}`),
    );
    await bench.drive('warm-up', { tenantId: warm.tenantId, events: 20, expected: 20 * SUBSCRIPTIONS });
    const sustainedRate = () => results.find((r) => r.mode === 'sustained')?.deliveriesPerSecond;
    const pacedRate = (subscriptions: number) => {
      if (process.env.BENCH_RATE) return number('BENCH_RATE', 1);
      const rate = sustainedRate();
      if (rate === undefined) throw new Error('paced modes need BENCH_RATE or a sustained mode earlier in BENCH_MODES');
      return (0.8 * rate) / subscriptions;
    };
    for (const mode of MODES) {
      console.log(`[bench] ${mode}...`);
      if (mode === 'idle') idle = await bench.idle(IDLE_SECONDS);
      else if (mode === 'probe') {
        probe = await bench.probe();
        console.log(`[bench] probe: ${fmt(probe.perSecond)} workflows/s`);
      } else if (mode === 'probe-paced')
        probeLatency = await bench.probeLatency(pacedRate(SUBSCRIPTIONS) * SUBSCRIPTIONS);
      else if (mode === 'sustained') results.push(await bench.allFast(mode, EVENTS));
      else if (mode === 'paced') results.push(await bench.allFast(mode, EVENTS, { rate: pacedRate(SUBSCRIPTIONS) }));
      else if (mode === 'burst') results.push(await bench.allFast(mode, BURST_EVENTS));
      else if (mode === 'mixed') results.push(await bench.mixed(mode, Math.ceil((EVENTS * SUBSCRIPTIONS) / 10)));
      else if (mode === 'ordered') results.push(await bench.allFast(mode, EVENTS, { ordered: true }));
      else if (mode === 'mixed-paced')
        results.push(await bench.mixed(mode, Math.ceil((EVENTS * SUBSCRIPTIONS) / 10), pacedRate(10)));
      else if (mode === 'waiting') results.push(await bench.waiting(WAITING));
      else if (mode === 'traced')
        for (const rate of TRACE_RATES) results.push(await bench.traced(mode, rate, collector as OtlpCollector));
      else if (mode === 'flood')
        results.push(
          await bench.flood(mode, process.env.BENCH_RATE || sustainedRate() ? pacedRate(SUBSCRIPTIONS) : 100),
        );
    }
    const plainRate = await plainPostRate(`${receiver.url}/fast`, 4000);
    console.log(summary({ stack: stack.stack, results, probe, probeLatency, idle, plainRate }));
    if (process.env.BENCH_JSON) {
      writeFileSync(
        process.env.BENCH_JSON,
        `${JSON.stringify({ at: new Date().toISOString(), stack: stack.stack, idle, probe, probeLatency, results, plainPostRate: plainRate }, null, 2)}\n`,
      );
      console.log(`\n[bench] figures written to ${process.env.BENCH_JSON}`);
    }
    // A peer's deliveries may not reach the receiver at all; the product's must.
    if (!COMPARE_URL && results.some((r) => r.mode !== 'waiting' && r.delivered < r.deliveries)) process.exitCode = 1;
  } finally {
    await agent.close();
    await stack.stop();
    receiver.stop();
    await collector?.stop();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: Error) => {
    console.error(`[bench] failed: ${error.stack ?? error.message}`);
    process.exit(1);
  },
);
