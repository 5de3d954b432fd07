/**
 * `npm run bench`: the product as `npm start` runs it (api and worker processes, embedded Postgres, Temporal
 * dev server with its SQLite file), publishing BENCH_EVENTS events to BENCH_SUBSCRIPTIONS subscriptions of one
 * tenant, all pointing at a receiver on 127.0.0.1 that answers 200. Prints deliveries/s, publish latency,
 * publish-to-delivery latency, api/worker memory and history size, then the plain HTTP POST rate to the same
 * receiver measured in the same run. BENCH_RATE paces the publishers (events/s) so publish-to-delivery latency is
 * measured below saturation instead of as a backlog. Everything stays on 127.0.0.1 and stops by itself.
 */
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { Connection, Client } from '@temporalio/client';
import { loadConfig } from '../libs/config/config';
import { deliveryWorkflowId } from '../libs/contracts/ids';
import { freePort } from '../libs/embedded/free-port';
import { launchEmbedded } from '../libs/embedded/launcher';

const EVENTS = Number(process.env.BENCH_EVENTS || 1000);
const SUBSCRIPTIONS = Number(process.env.BENCH_SUBSCRIPTIONS || 2);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY || 16);
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS || 15 * 60_000);
const PORT = Number(process.env.BENCH_PORT || 3900);
/** Events per second to publish at; unset publishes as fast as the api answers (a backlog, not a latency test). */
const RATE = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const rssMiB = (pid: number | undefined) => {
  if (pid === undefined) return NaN;
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
};
const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'iaw-bench-'));
  chmodSync(dataDir, 0o755); // embedded Postgres runs as an unprivileged user under root
  const apiKey = 'bench-service-key-0123456789';
  const config = { ...loadConfig({ ...process.env, DATA_DIR: dataDir }), port: PORT, grpcPort: PORT + 1, apiKeys: [apiKey] };

  // The receiver: answers 200 at once and notes when each event arrived.
  const arrivals = new Map<string, number[]>();
  let received = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const eventId = String(req.headers['x-intelliauth-event-id'] ?? '');
      if (eventId) {
        const list = arrivals.get(eventId) ?? [];
        list.push(performance.now());
        arrivals.set(eventId, list);
        received += 1;
      }
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

  const launched = await launchEmbedded({
    config,
    apiKey,
    postgresDir: join(dataDir, 'postgres'),
    postgresPort: await freePort(),
    temporalPort: undefined,
    temporalDbFile: join(dataDir, 'temporal.db'),
    say: (message) => console.log(`[bench] ${message}`),
    onUnexpectedExit: (name, status) => {
      console.error(`[bench] ${name} exited (${status}); everything else was stopped, aborting`);
      process.exit(1);
    },
    childOutput: process.env.BENCH_VERBOSE ? 'inherit' : 'ignore',
    // The bench's receiver is on 127.0.0.1, which the SSRF guard refuses unless allowlisted.
    outboundAllowlist: [...new Set([...config.outboundAllowlist, '127.0.0.1/32'])],
  });
  const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 30_000 });
  const call = async (method: 'POST' | 'GET', path: string, body?: unknown) => {
    const response = await request(`${launched.apiUrl}${path}`, {
      method,
      dispatcher: agent,
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.body.text();
    if (response.statusCode >= 300) throw new Error(`${method} ${path} answered ${response.statusCode}: ${text}`);
    return JSON.parse(text);
  };

  try {
    const tenantId = 'tnt_bench';
    const subscriptionIds: string[] = [];
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      subscriptionIds.push((await call('POST', '/v1/subscriptions', { tenant_id: tenantId, url: receiverUrl, event_types: ['user.*'] })).id);
    }
    // Warm-up: one delivery end to end, so the figures start once the worker has bundled its workflows and polls.
    await call('POST', '/v1/events', { event_id: 'evt_warmup', event_type: 'user.signed_in', tenant: { id: tenantId }, data: { user: { id: 'usr_warmup' } } });
    const warmupDeadline = performance.now() + 120_000;
    while (received < SUBSCRIPTIONS && performance.now() < warmupDeadline) await new Promise((resolve) => setTimeout(resolve, 100));
    arrivals.clear();
    received = 0;

    const expected = EVENTS * SUBSCRIPTIONS;
    console.log(
      `[bench] publishing ${EVENTS} events to ${SUBSCRIPTIONS} subscriptions (${expected} deliveries), ${CONCURRENCY} publishers in parallel` +
        (RATE ? `, paced at ${RATE} events/s` : ', unpaced'),
    );

    const publishLatencies: number[] = [];
    const publishedAt = new Map<string, number>();
    let published = 0;
    const started = performance.now();
    const progress = setInterval(() => {
      const seconds = (performance.now() - started) / 1000;
      process.stdout.write(`\r[bench] ${fmt(seconds, 0)}s  published ${published}/${EVENTS}  delivered ${received}/${expected}   `);
    }, 1000);
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < EVENTS) {
          const n = next++;
          if (RATE) {
            const due = started + (n * 1000) / RATE;
            if (due > performance.now()) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
          }
          const eventId = `evt_bench_${n}`;
          const sentAt = performance.now();
          publishedAt.set(eventId, sentAt);
          await call('POST', '/v1/events', {
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
    const deadline = performance.now() + TIMEOUT_MS;
    while (received < expected && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    clearInterval(progress);
    const lastArrival = Math.max(...[...arrivals.values()].flat());
    const totalSeconds = (lastArrival - started) / 1000;
    process.stdout.write('\n');

    const deliveryLatencies: number[] = [];
    for (const [eventId, times] of arrivals) {
      const sentAt = publishedAt.get(eventId);
      if (sentAt !== undefined) for (const at of times) deliveryLatencies.push(at - sentAt);
    }
    const memory = { api: rssMiB(launched.api.pid), worker: rssMiB(launched.worker.pid) };

    // History size per delivery, from a sample of finished workflows.
    const client = new Client({ connection: await Connection.connect({ address: launched.temporalAddress }) });
    const sample = [0, Math.floor(EVENTS / 2), EVENTS - 1].map((n) => deliveryWorkflowId(`evt_bench_${n}`, subscriptionIds[0]));
    const historyEvents = await Promise.all(sample.map(async (id) => (await client.workflow.getHandle(id).fetchHistory()).events?.length ?? 0));
    await client.connection.close();

    // The baseline: plain HTTP POSTs of a delivery-sized body to the same receiver, same parallelism, same run.
    const body = JSON.stringify({ event_id: 'evt_plain', data: { user: { id: 'usr_plain', email: 'user@example.com' } }, delivery: { attempt: 1 } });
    const plainAgent = new Agent({ connections: CONCURRENCY });
    const plainCount = Math.max(2000, expected);
    let plainNext = 0;
    const plainStarted = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (plainNext++ < plainCount) {
          const response = await request(receiverUrl, { method: 'POST', body, dispatcher: plainAgent, headers: { 'content-type': 'application/json' } });
          await response.body.dump();
        }
      }),
    );
    const plainRate = plainCount / ((performance.now() - plainStarted) / 1000);
    await plainAgent.close();

    const duplicates = [...arrivals.values()].reduce((sum, times) => sum + Math.max(0, times.length - SUBSCRIPTIONS), 0);
    const lines = [
      `deliveries                 ${received}/${expected} in ${fmt(totalSeconds)} s (publishing took ${fmt(publishSeconds)} s)`,
      `deliveries per second      ${fmt(received / totalSeconds)}`,
      `publish latency            p50 ${fmt(percentile(publishLatencies, 50))} ms   p99 ${fmt(percentile(publishLatencies, 99))} ms`,
      `publish-to-delivery        p50 ${fmt(percentile(deliveryLatencies, 50))} ms   p99 ${fmt(percentile(deliveryLatencies, 99))} ms`,
      `memory (RSS)               api ${fmt(memory.api)} MiB   worker ${fmt(memory.worker)} MiB`,
      `history events/delivery    ${historyEvents.join(', ')} (sampled workflows, delivered on attempt 1)`,
      `receipts beyond one each   ${duplicates}`,
      `plain HTTP POST rate       ${fmt(plainRate)} requests/s to the same receiver (${plainCount} POSTs, ${CONCURRENCY} in parallel)`,
    ];
    console.log(`\n${lines.join('\n')}`);
    if (received < expected) process.exitCode = 1;
  } finally {
    await agent.close();
    await launched.stop();
    receiver.close();
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
