/**
 * `npm run bench`: the product as `npm start` runs it (api and worker processes, embedded Postgres, the Temporal
 * dev server with its SQLite file), driven by publishers and a receiver in this process, all on 127.0.0.1. Every
 * mode runs against the same servers in one run, and prints a progress line while it runs; at the end a summary
 * table, and with BENCH_JSON=FILE the same figures as JSON. Everything stops by itself.
 *
 * BENCH_MODES (comma-separated, in order; default probe,sustained,paced,burst,mixed,mixed-paced):
 *   probe        the bare Temporal stack: the same workflow, input and start, with an attempt that does nothing
 *   sustained    BENCH_EVENTS events x BENCH_SUBSCRIPTIONS subscriptions, publishers unpaced, receiver answers 200
 *   paced        the same at BENCH_RATE events/s (default: 80 % of the sustained rate of this run)
 *   burst        BENCH_BURST_EVENTS events as fast as the publishers can send; then every delivery drains
 *   mixed        10 subscriptions of which 1 answers after 5 s; unpaced: do slow receivers starve the fast ones?
 *   mixed-paced  the same, paced at 80 % of the sustained rate (in deliveries/s)
 *   waiting      the receiver down: BENCH_WAITING deliveries parked on their retry timer, then memory read
 *   flood        BENCH_FLOOD_CLIENTS (200) anonymous clients, half scraping /metrics and half sending a new random
 *                bearer key each time (each one unknown, so the unknown-key cache does not help), for
 *                BENCH_FLOOD_SECONDS (10), while publishing paced at BENCH_RATE (default as paced, else 100 events/s);
 *                run `paced,flood` with one BENCH_RATE to read the publish latency without and with the flood
 * CPU per process comes from /proc/<pid>/stat (utime + stime, the reaped children's included) before and after.
 */
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { Pool } from 'pg';
import { Agent, request } from 'undici';
import { loadConfig } from '../libs/config/config';
import { createPool } from '../libs/db/pool';
import { freePort } from './embedded/free-port';
import { Launched, launchEmbedded } from './embedded/launcher';
import { loadLauncherConfig } from './embedded/launcher-config';
import { childrenMatching, ownCpuMs, rssMiB, treeCpuMs } from './bench/process-stats';
import { ProbeResult, runProbe } from './bench/probe';

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
const SLOW_RECEIVER_MS = 5_000;
const FLOOD_CLIENTS = number('BENCH_FLOOD_CLIENTS', 200);
const FLOOD_SECONDS = number('BENCH_FLOOD_SECONDS', 10);
const MODES = (process.env.BENCH_MODES || 'probe,sustained,paced,burst,mixed,mixed-paced')
  .split(',')
  .map((mode) => mode.trim());
const KNOWN_MODES = ['probe', 'sustained', 'paced', 'burst', 'mixed', 'mixed-paced', 'waiting', 'flood'];

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const fmt = (n: number | undefined, digits = 1) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits));

interface CpuReading {
  api: number;
  worker: number;
  temporal: number;
  postgres: number;
  bench: number;
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
  cpuMsPerDelivery: CpuReading & { total: number };
  rssMiB: { api: number; worker: number; apiPlusWorker: number; temporal: number };
  duplicates: number;
  /** Attempts the subscriptions' limits refused a permit (each then waited on a durable timer). */
  throttled: number;
  /** The outbox relay's workflow starts: eager (first task handed straight to the worker), normal, failed. */
  starts: RelayStarts;
  /** Every delivery's workflow history: how many went beyond a delivered-at-once delivery's, and its timers. */
  histories?: DeliveryHistories;
  waiting?: { parked: number; workerRssMiB: number; temporalRssMiB: number; apiRssMiB: number };
  /** The flood's own requests, by what they asked and what they got. */
  flood?: { clients: number; seconds: number; requestsPerSecond: number; answers: Record<string, number> };
}

/** A delivery attempted once, at once: started, one workflow task (3 events), the attempt marker, the status upsert, completed. */
const DELIVERED_AT_ONCE_EVENTS = 7;

interface DeliveryHistories {
  deliveries: number;
  /** Deliveries whose history has more than DELIVERED_AT_ONCE_EVENTS events. */
  longer: number;
  throttleTimers: number;
  mostEvents: number;
}

/** The receiver: paths /fast/<n> answer 200 at once, /slow/<n> after 5 s; notes every arrival per event and path (one path per subscription). */
class BenchReceiver {
  readonly arrivals = new Map<string, number[]>();
  received = 0;
  private readonly server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const eventId = String(req.headers['x-intelliauth-event-id'] ?? '');
      if (eventId) {
        const key = `${eventId} ${req.url}`;
        const list = this.arrivals.get(key) ?? [];
        list.push(performance.now());
        this.arrivals.set(key, list);
        this.received += 1;
      }
      if (req.url?.startsWith('/slow')) setTimeout(() => res.end('ok'), SLOW_RECEIVER_MS);
      else res.end('ok');
    });
  });
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.arrivals.clear();
    this.received = 0;
  }

  stop(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}

class Bench {
  private readonly agent = new Agent({ connections: PUBLISHERS, keepAliveTimeout: 30_000 });
  private readonly pids: { temporal?: number; postgres?: number };
  private tenants = 0;

  constructor(
    private readonly launched: Launched,
    private readonly apiKey: string,
    private readonly receiver: BenchReceiver,
    private readonly pool: Pool,
  ) {
    this.pids = {
      temporal: childrenMatching(process.pid, /start-dev/)[0],
      postgres: childrenMatching(process.pid, /postgres/)[0],
    };
  }

  /** From the worker's /metrics: webhook_attempts_throttled_total and webhook_outbox_starts_total, summed over their other labels. */
  private async workerCounters(): Promise<WorkerCounters> {
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

  async call(method: 'POST' | 'GET', path: string, body?: unknown): Promise<any> {
    const response = await request(`${this.launched.apiUrl}${path}`, {
      method,
      dispatcher: this.agent,
      headers: { authorization: `Bearer ${this.apiKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.body.text();
    // Over a PUBLISH_RATE_LIMIT the operator set: wait as the answer says, as a publisher would, and send it again.
    if (response.statusCode === 429 && method === 'POST') {
      await sleep(Number(response.headers['retry-after'] ?? 1) * 1000);
      return this.call(method, path, body);
    }
    if (response.statusCode >= 300) throw new Error(`${method} ${path} answered ${response.statusCode}: ${text}`);
    return JSON.parse(text);
  }

  cpu(): CpuReading {
    const tree = (pid: number | undefined) => (pid === undefined ? NaN : treeCpuMs(pid));
    return {
      api: tree(this.launched.api.pid),
      worker: tree(this.launched.worker.pid),
      temporal: tree(this.pids.temporal),
      postgres: tree(this.pids.postgres),
      bench: ownCpuMs(),
    };
  }

  rss() {
    return {
      api: rssMiB(this.launched.api.pid),
      worker: rssMiB(this.launched.worker.pid),
      temporal: rssMiB(this.pids.temporal),
    };
  }

  /** A tenant of its own per mode, with `paths.length` subscriptions pointing at the receiver paths given. */
  async subscribe(urls: string[]): Promise<{ tenantId: string; subscriptionIds: string[] }> {
    const tenantId = `tnt_bench_${++this.tenants}_${Date.now().toString(36)}`;
    const subscriptionIds: string[] = [];
    for (const url of urls)
      subscriptionIds.push(
        (await this.call('POST', '/v1/subscriptions', { tenant_id: tenantId, url, event_types: ['user.*'] })).id,
      );
    return { tenantId, subscriptionIds };
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
    const peak = { api: 0, worker: 0, apiPlusWorker: 0, temporal: 0 };
    const sampleMemory = () => {
      const now = this.rss();
      peak.api = Math.max(peak.api, now.api);
      peak.worker = Math.max(peak.worker, now.worker);
      peak.apiPlusWorker = Math.max(peak.apiPlusWorker, now.api + now.worker);
      peak.temporal = Math.max(peak.temporal, now.temporal);
    };
    const cpuBefore = this.cpu();
    const countersBefore = await this.workerCounters();
    const started = performance.now();
    const progressDone = options.progress ?? (() => `delivered ${this.receiver.received}/${expected}`);
    const progress = setInterval(() => {
      sampleMemory();
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
          const eventId = `evt_${tenantId}_${n}`;
          const sentAt = performance.now();
          publishedAt.set(eventId, sentAt);
          await this.call('POST', '/v1/events', {
            event_id: eventId,
            event_type: 'user.signed_in',
            tenant: { id: tenantId, slug: 'bench' },
            actor: { kind: 'user', id: `usr_${n}` },
            data: { user: { id: `usr_${n}`, email: `user${n}@example.com` }, ip: '203.0.113.7' },
          });
          publishLatencies.push(performance.now() - sentAt);
          published += 1;
        }
      }),
    );
    const publishSeconds = (performance.now() - started) / 1000;
    const giveUpAt = performance.now() + TIMEOUT_MS;
    const done = options.until ?? (async () => this.receiver.received >= expected);
    while (!(await done()) && performance.now() < giveUpAt) await sleep(200);
    sampleMemory();
    clearInterval(progress);
    process.stdout.write('\n');
    const arrivals = [...this.receiver.arrivals.values()].flat();
    const lastArrival = arrivals.length > 0 ? Math.max(...arrivals) : performance.now();
    const seconds = (lastArrival - started) / 1000;
    // The servers finish the last workflow tasks after the last receipt; their CPU belongs to this run.
    await sleep(1000);
    const cpuAfter = this.cpu();
    const countersAfter = await this.workerCounters();
    const starts = {
      eager: countersAfter.starts.eager - countersBefore.starts.eager,
      normal: countersAfter.starts.normal - countersBefore.starts.normal,
      failed: countersAfter.starts.failed - countersBefore.starts.failed,
    };
    const delivered = this.receiver.received;
    const perDelivery = (key: keyof CpuReading) =>
      (cpuAfter[key] - cpuBefore[key]) / Math.max(1, options.until ? expected : delivered);
    const cpu = {
      api: perDelivery('api'),
      worker: perDelivery('worker'),
      temporal: perDelivery('temporal'),
      postgres: perDelivery('postgres'),
      bench: perDelivery('bench'),
    };
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
        cpuMsPerDelivery: { ...cpu, total: cpu.api + cpu.worker + cpu.temporal + cpu.postgres },
        rssMiB: peak,
        duplicates: [...this.receiver.arrivals.values()].reduce((sum, times) => sum + times.length - 1, 0),
        throttled: countersAfter.throttled - countersBefore.throttled,
        starts,
      },
    };
  }

  async allFast(mode: string, events: number, rate?: number): Promise<ModeResult> {
    const { tenantId } = await this.subscribe(
      Array.from({ length: SUBSCRIPTIONS }, (_, i) => `${this.receiver.url}/fast/${i}`),
    );
    const { base } = await this.drive(mode, { tenantId, events, expected: events * SUBSCRIPTIONS, rate });
    base.histories = await this.histories(tenantId);
    return base;
  }

  /**
   * Publishes paced at `rate` for FLOOD_SECONDS while FLOOD_CLIENTS anonymous clients ask as fast as they can; the
   * flood ends with the last publish, or at three times FLOOD_SECONDS if the publishers fall that far behind.
   */
  async flood(mode: string, rate: number): Promise<ModeResult> {
    const { tenantId } = await this.subscribe(
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
          const response = await request(`${this.launched.apiUrl}${scraper ? '/metrics' : '/v1/subscriptions'}`, {
            dispatcher: agent,
            headers: scraper ? {} : { authorization: `Bearer iaw_tk_${randomBytes(32).toString('base64url')}` },
          });
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
    const requests = Object.values(answers).reduce((sum, n) => sum + n, 0);
    base.flood = { clients: FLOOD_CLIENTS, seconds, requestsPerSecond: requests / seconds, answers };
    return base;
  }

  async mixed(mode: string, events: number, rate?: number): Promise<ModeResult> {
    const urls = Array.from({ length: 10 }, (_, i) => `${this.receiver.url}/${i === 0 ? 'slow' : 'fast'}/${i}`);
    const { tenantId } = await this.subscribe(urls);
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
    base.histories = await this.histories(tenantId);
    return base;
  }

  /**
   * Reads the history of every delivery of the tenant, after the mode's figures are taken. Every receiver of these
   * modes answers 200 within the attempt timeout, so each timer in them is a throttle timer.
   */
  private async histories(tenantId: string): Promise<DeliveryHistories> {
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

  /** The receiver down (a port nothing listens on): every delivery fails its first attempt and parks on its retry timer. */
  async waiting(deliveries: number): Promise<ModeResult> {
    const downUrl = `http://127.0.0.1:${await freePort()}/down`;
    const { tenantId } = await this.subscribe(Array.from({ length: SUBSCRIPTIONS }, () => downUrl));
    const events = Math.ceil(deliveries / SUBSCRIPTIONS);
    const expected = events * SUBSCRIPTIONS;
    const parked = async () =>
      (
        await this.pool.query<{ n: number }>(
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
    const memory = this.rss();
    base.delivered = 0;
    base.waiting = {
      parked: lastCount,
      workerRssMiB: memory.worker,
      temporalRssMiB: memory.temporal,
      apiRssMiB: memory.api,
    };
    return base;
  }

  async close(): Promise<void> {
    await this.agent.close();
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

function summary(results: ModeResult[], probe: ProbeResult | undefined, plainRate: number): string {
  const byMode = new Map(results.map((r) => [r.mode, r]));
  const sustained = byMode.get('sustained');
  const lines: string[] = ['', '| figure | value |', '|---|---|'];
  const row = (figure: string, value: string) => lines.push(`| ${figure} | ${value} |`);
  if (probe) {
    row(
      'probe: bare Temporal, same workflow, no-op attempt',
      `${fmt(probe.perSecond)} workflows/s (${probe.workflows} in ${fmt(probe.seconds)} s, ${fmt(probe.eagerShare * 100, 0)} % eager); CPU ms/workflow Temporal ${fmt(probe.cpuMsPerWorkflow.temporal)}, probe process ${fmt(probe.cpuMsPerWorkflow.probeProcess)}`,
    );
  }
  for (const r of results) {
    const cpu = r.cpuMsPerDelivery;
    const head = `${r.mode}${r.rate ? ` (${fmt(r.rate)} events/s offered)` : ''}`;
    if (r.mode === 'waiting') {
      row(
        head,
        `${r.waiting?.parked}/${r.deliveries} parked on their retry timer; RSS worker ${fmt(r.waiting?.workerRssMiB)} MiB, Temporal ${fmt(r.waiting?.temporalRssMiB)} MiB, api ${fmt(r.waiting?.apiRssMiB)} MiB`,
      );
      continue;
    }
    row(
      `${head}: deliveries/s`,
      `${fmt(r.deliveriesPerSecond)} (${r.delivered}/${r.deliveries} in ${fmt(r.seconds)} s)` +
        (r.mode === 'sustained' && probe
          ? `, ${fmt((100 * r.deliveriesPerSecond) / probe.perSecond, 0)} % of the probe`
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
      `api ${fmt(cpu.api)}, worker ${fmt(cpu.worker)}, Temporal ${fmt(cpu.temporal)}, Postgres ${fmt(cpu.postgres)}: total ${fmt(cpu.total)} (bench load + receiver ${fmt(cpu.bench)})`,
    );
    row(
      `${head}: RSS peak`,
      `api ${fmt(r.rssMiB.api)} + worker ${fmt(r.rssMiB.worker)} = ${fmt(r.rssMiB.apiPlusWorker)} MiB; Temporal ${fmt(r.rssMiB.temporal)} MiB`,
    );
    if (r.histories)
      row(
        `${head}: histories`,
        `${r.histories.longer} of ${r.histories.deliveries} deliveries beyond ${DELIVERED_AT_ONCE_EVENTS} events (most ${r.histories.mostEvents}); ${r.histories.throttleTimers} throttle timers`,
      );
    row(`${head}: receipts beyond one`, String(r.duplicates));
    row(`${head}: attempts refused a permit`, String(r.throttled));
    const started = r.starts.eager + r.starts.normal;
    row(
      `${head}: relay starts`,
      `${r.starts.eager} eager, ${r.starts.normal} normal (${fmt(started > 0 ? (100 * r.starts.eager) / started : NaN, 0)} % eager), ${r.starts.failed} failed`,
    );
  }
  row('plain HTTP POST rate to the same receiver', `${fmt(plainRate)} requests/s (${PUBLISHERS} in parallel)`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const unknown = MODES.filter((mode) => !KNOWN_MODES.includes(mode));
  if (unknown.length > 0)
    throw new Error(`BENCH_MODES: unknown ${unknown.join(', ')}; known: ${KNOWN_MODES.join(', ')}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'iaw-bench-'));
  chmodSync(dataDir, 0o755); // embedded Postgres runs as an unprivileged user under root
  const apiKey = 'bench-service-key-0123456789';
  // The bench measures what its publishers can push through for one tenant, which the per-tenant publish limit (a
  // fairness policy, 1000 events/s by default) would cap instead; set PUBLISH_RATE_LIMIT to bench with a limit.
  process.env.PUBLISH_RATE_LIMIT ??= '0';
  const base = loadConfig();
  const config = {
    ...base,
    port: await freePort(),
    grpcPort: await freePort(),
    workerMetricsPort: await freePort(),
    workerSdkMetricsPort: await freePort(),
    apiKeys: [apiKey],
    // First attempts decide every mode but `waiting`, whose deliveries must stay parked: the retry waits an hour.
    delivery: { ...base.delivery, retryScheduleMs: [0, 3_600_000] },
  };
  const receiver = new BenchReceiver();
  await receiver.start();
  const launched = await launchEmbedded({
    config,
    apiKey,
    dataDir,
    temporalCliPath: loadLauncherConfig(process.env).temporalCliPath,
    postgresDir: join(dataDir, 'postgres'),
    postgresPort: await freePort(),
    temporalPort: undefined,
    temporalDbFile: join(dataDir, 'temporal.db'),
    say: (message) => console.log(`[bench] ${message}`),
    childOutput: process.env.BENCH_VERBOSE ? 'inherit' : 'ignore',
    // The bench's receiver is on 127.0.0.1, which the SSRF guard refuses unless allowlisted.
    outboundAllowlist: [...new Set([...config.outboundAllowlist, '127.0.0.1/32'])],
  });
  const pool = createPool(launched.databaseUrl, 2);
  const bench = new Bench(launched, apiKey, receiver, pool);
  const results: ModeResult[] = [];
  let probe: ProbeResult | undefined;
  try {
    // Warm-up: one delivery end to end, so the figures start once the worker has bundled its workflows and polls.
    const warm = await bench.subscribe([`${receiver.url}/fast`]);
    await bench.drive('warm-up', { tenantId: warm.tenantId, events: 20, expected: 20 });
    const sustainedRate = () => results.find((r) => r.mode === 'sustained')?.deliveriesPerSecond;
    const pacedRate = (subscriptions: number) => {
      if (process.env.BENCH_RATE) return number('BENCH_RATE', 1);
      const rate = sustainedRate();
      if (rate === undefined) throw new Error('paced modes need BENCH_RATE or a sustained mode earlier in BENCH_MODES');
      return (0.8 * rate) / subscriptions;
    };
    for (const mode of MODES) {
      console.log(`[bench] ${mode}...`);
      if (mode === 'probe') {
        probe = await runProbe({
          temporalAddress: launched.temporalAddress,
          workflows: PROBE_WORKFLOWS,
          starters: 32,
          tuning: config.worker,
        });
        console.log(`[bench] probe: ${fmt(probe.perSecond)} workflows/s`);
      } else if (mode === 'sustained') results.push(await bench.allFast(mode, EVENTS));
      else if (mode === 'paced') results.push(await bench.allFast(mode, EVENTS, pacedRate(SUBSCRIPTIONS)));
      else if (mode === 'burst') results.push(await bench.allFast(mode, BURST_EVENTS));
      else if (mode === 'mixed') results.push(await bench.mixed(mode, Math.ceil((EVENTS * SUBSCRIPTIONS) / 10)));
      else if (mode === 'mixed-paced')
        results.push(await bench.mixed(mode, Math.ceil((EVENTS * SUBSCRIPTIONS) / 10), pacedRate(10)));
      else if (mode === 'waiting') results.push(await bench.waiting(WAITING));
      else if (mode === 'flood')
        results.push(
          await bench.flood(mode, process.env.BENCH_RATE || sustainedRate() ? pacedRate(SUBSCRIPTIONS) : 100),
        );
    }
    const plainRate = await plainPostRate(`${receiver.url}/fast`, 4000);
    const table = summary(results, probe, plainRate);
    console.log(table);
    if (process.env.BENCH_JSON) {
      writeFileSync(
        process.env.BENCH_JSON,
        `${JSON.stringify({ at: new Date().toISOString(), tuning: config.worker, probe, results, plainPostRate: plainRate }, null, 2)}\n`,
      );
      console.log(`\n[bench] figures written to ${process.env.BENCH_JSON}`);
    }
    if (results.some((r) => r.mode !== 'waiting' && r.delivered < r.deliveries)) process.exitCode = 1;
  } finally {
    await bench.close();
    await pool.end();
    await launched.stop();
    receiver.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: Error) => {
    console.error(`[bench] failed: ${error.stack ?? error.message}`);
    process.exit(1);
  },
);
