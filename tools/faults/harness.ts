import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { AppConfig, loadConfig } from '../../libs/config/config';
import { createPool } from '../../libs/db/pool';
import { freePort } from '../embedded/free-port';
import { Launched, launchEmbedded, PartName } from '../embedded/launcher';
import { SecretBox } from '../../libs/secrets/secret-box';

/**
 * The whole product on 127.0.0.1 under the launcher's supervision (as `npm start` runs it), each part a process of
 * its own that a fault scenario can kill (the launcher restarts it), stop or restart: embedded Postgres (on the same
 * folder and port), a Temporal dev server with its SQLite file (so open workflows survive), the api and the worker.
 */
export class FaultHarness {
  readonly pool: Pool;
  private readonly output: string[];
  /** Exits the scenario caused (kill); any other exit of a part is a crash the scenario must report. */
  private readonly expectedExits: Map<string, number>;
  private readonly crashes: string[];
  /** Parts stopped on purpose (terminate), which startPart starts again. */
  private readonly stopped = new Set<PartName>();

  private constructor(
    readonly apiKey: string,
    private readonly dir: string,
    private readonly launched: Launched,
    observed: { output: string[]; expectedExits: Map<string, number>; crashes: string[] },
  ) {
    this.pool = createPool(launched.databaseUrl, 5);
    ({ output: this.output, expectedExits: this.expectedExits, crashes: this.crashes } = observed);
  }

  static async start(delivery: AppConfig['delivery']): Promise<FaultHarness> {
    const dir = mkdtempSync(join(tmpdir(), 'iaw-faults-'));
    chmodSync(dir, 0o755); // embedded Postgres runs as an unprivileged user under root
    const apiKey = `fault-service-key-${Date.now()}`;
    const config: AppConfig = {
      ...loadConfig({}),
      port: await freePort(),
      grpcPort: await freePort(),
      workerMetricsPort: await freePort(),
      workerSdkMetricsPort: await freePort(),
      apiKeys: [apiKey],
      secretsMasterKeys: SecretBox.generateKeyEntry('faults'),
      delivery,
    };
    const observed = { output: [] as string[], expectedExits: new Map<string, number>(), crashes: [] as string[] };
    const lastOutput = (part: string) =>
      observed.output
        .filter((line) => line.startsWith(`[${part}]`))
        .slice(-30)
        .join('');
    const launched = await launchEmbedded({
      config,
      apiKey,
      dataDir: dir,
      postgresDir: join(dir, 'postgres'),
      postgresPort: await freePort(),
      temporalPort: await freePort(),
      temporalDbFile: join(dir, 'temporal.db'),
      say: (message) => {
        observed.output.push(`[launcher] ${message}\n`);
        const part = /^(\w+) (?:exited by itself|failed to start)/.exec(message)?.[1];
        if (part === undefined) return;
        const expected = observed.expectedExits.get(part) ?? 0;
        if (expected > 0) observed.expectedExits.set(part, expected - 1);
        else observed.crashes.push(`${message}; its last output:\n${lastOutput(part)}`);
      },
      onChildOutput: (name, text) => observed.output.push(`[${name}] ${text}`),
      outboundAllowlist: ['127.0.0.1/32'],
      // Scenarios kill the worker many times a minute on purpose: a short cap on the backoff keeps them brisk.
      restartPolicy: { maxDelayMs: 8_000 },
    });
    return new FaultHarness(apiKey, dir, launched, observed);
  }

  get apiUrl(): string {
    return this.launched.apiUrl;
  }

  get temporalAddress(): string {
    return this.launched.temporalAddress;
  }

  /** SIGKILL: no shutdown hook runs, attempts in flight are lost mid-way; the launcher restarts the part. */
  async kill(part: 'api' | 'worker'): Promise<void> {
    this.expectedExits.set(part, (this.expectedExits.get(part) ?? 0) + 1);
    await this.launched.signal(part, 'SIGKILL');
  }

  /** SIGTERM, on purpose (not restarted): the graceful path (the worker lets attempts in flight finish). */
  async terminate(part: 'api' | 'worker'): Promise<number> {
    const started = Date.now();
    this.stopped.add(part);
    await this.launched.stopPart(part);
    return Date.now() - started;
  }

  /** Starts a part stopped with terminate, or waits for the launcher to have restarted a killed one. */
  async startPart(part: 'api' | 'worker'): Promise<void> {
    if (this.stopped.delete(part)) await this.launched.startPart(part);
    else await this.launched.whenRunning(part);
  }

  async restartTemporal(): Promise<void> {
    await this.launched.stopPart('temporal');
    await this.launched.startPart('temporal');
  }

  async restartPostgres(downForMs: number): Promise<void> {
    await this.launched.stopPart('postgres');
    await new Promise((resolve) => setTimeout(resolve, downForMs));
    await this.launched.startPart('postgres');
  }

  async request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${this.apiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      // A request the api never answers fails like a refused one, so a publisher retries instead of waiting forever.
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  /** Throws when the api or the worker died without being told to: a scenario must not wait on a dead part. */
  assertNoCrash(): void {
    if (this.crashes.length) throw new Error(this.crashes.join('\n'));
  }

  async until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      this.assertNoCrash();
      if (Date.now() > deadline)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.output.slice(-20).join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async stop(): Promise<void> {
    await this.pool.end().catch(() => undefined);
    await this.launched.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export type ReceiverAnswer = (path: string, eventId: string, attempt: number) => { status: number; delayMs?: number };

/** A receiver on 127.0.0.1 whose answers a scenario decides; it counts every receipt per (event, subscription). */
export class CountingReceiver {
  readonly receipts = new Map<string, number>();
  /** Every receipt's `event id|path`, in arrival order. */
  readonly arrivals: string[] = [];
  private server?: Server;

  constructor(private answer: ReceiverAnswer) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const key = `${req.headers['x-intelliauth-event-id']}|${req.url}`;
        this.receipts.set(key, (this.receipts.get(key) ?? 0) + 1);
        this.arrivals.push(key);
        const { status, delayMs } = this.answer(
          req.url ?? '',
          String(req.headers['x-intelliauth-event-id']),
          Number(req.headers['x-intelliauth-delivery-attempt']),
        );
        const send = () => {
          res.statusCode = status;
          res.end();
        };
        if (delayMs) setTimeout(send, delayMs).unref();
        else send();
      });
    });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  respond(answer: ReceiverAnswer): void {
    this.answer = answer;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
