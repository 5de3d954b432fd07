import { ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { AppConfig, loadConfig } from '../../libs/config/config';
import { projectRoot } from '../../libs/config/project-root';
import { migrate } from '../../libs/db/migrate';
import { createPool } from '../../libs/db/pool';
import { freePort } from '../../libs/embedded/free-port';
import { appEnvironment } from '../../libs/embedded/launcher';
import { RunningPostgres, startEmbeddedPostgres } from '../../libs/embedded/postgres';
import { RunningTemporal, startTemporalDevServer } from '../../libs/embedded/temporal-server';
import { temporalCliPath } from '../../libs/embedded/toolchain';
import { SecretBox } from '../../libs/secrets/secret-box';

type Part = 'api' | 'worker';

/**
 * The whole product on 127.0.0.1, each part a process of its own that a fault scenario can kill, stop or restart:
 * embedded Postgres (restartable on the same folder and port), a Temporal dev server with its SQLite file
 * (restartable, so open workflows survive), the api and the worker.
 */
export class FaultHarness {
  readonly apiKey = `fault-service-key-${Date.now()}`;
  apiPort = 0;
  readonly pool: Pool;
  private readonly processes = new Map<Part, ChildProcess>();
  private readonly output: string[] = [];
  /** Children being stopped on purpose; any other exit is a crash the scenario must report. */
  private readonly stopping = new WeakSet<ChildProcess>();
  private readonly crashes: string[] = [];

  private constructor(
    private readonly dir: string,
    private readonly config: AppConfig,
    private postgres: RunningPostgres,
    private temporal: RunningTemporal,
    private readonly postgresPort: number,
    private readonly temporalPort: number,
  ) {
    this.pool = createPool(postgres.url, 5);
  }

  static async start(delivery: AppConfig['delivery']): Promise<FaultHarness> {
    const dir = mkdtempSync(join(tmpdir(), 'iaw-faults-'));
    chmodSync(dir, 0o755); // embedded Postgres runs as an unprivileged user under root
    const postgresPort = await freePort();
    const temporalPort = await freePort();
    const postgres = await startEmbeddedPostgres(join(dir, 'postgres'), postgresPort);
    await migrate(postgres.url);
    const temporal = await startTemporalDevServer({ cliPath: temporalCliPath(undefined, () => undefined), dbFilename: join(dir, 'temporal.db'), port: temporalPort });
    const config: AppConfig = {
      ...loadConfig({}),
      dataDir: dir,
      databaseUrl: postgres.url,
      temporalAddress: temporal.address,
      secretsMasterKeys: SecretBox.generateKeyEntry('faults'),
      delivery,
    };
    const harness = new FaultHarness(dir, config, postgres, temporal, postgresPort, temporalPort);
    harness.apiPort = await freePort();
    Object.assign(harness.config, { port: harness.apiPort, grpcPort: await freePort(), apiKeys: [harness.apiKey] });
    await Promise.all([harness.startPart('worker'), harness.startPart('api')]);
    return harness;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  get temporalAddress(): string {
    return this.temporal.address;
  }

  async startPart(part: Part): Promise<void> {
    const env = appEnvironment(this.config, { outboundAllowlist: ['127.0.0.1/32'] });
    const child = spawn(process.execPath, [join(projectRoot(), 'dist', 'apps', part, 'src', 'main.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => this.output.push(`[${part}] ${chunk}`));
    child.stderr?.on('data', (chunk: Buffer) => this.output.push(`[${part}] ${chunk}`));
    child.once('exit', (code, signal) => {
      this.output.push(`[${part}] exited (${signal ?? code})\n`);
      if (!this.stopping.has(child)) this.crashes.push(`${part} exited by itself (${signal ?? code}); its last output:\n${this.output.filter((line) => line.startsWith(`[${part}]`)).slice(-30).join('')}`);
    });
    this.processes.set(part, child);
    if (part === 'api') await this.until(async () => (await fetch(`${this.apiUrl}/healthz`).catch(() => undefined))?.ok === true, 60_000, 'the api');
    else await this.until(() => this.output.some((line) => line.includes('[worker]') && line.includes('polling task queue')) , 60_000, 'the worker');
  }

  /** SIGKILL: no shutdown hook runs, attempts in flight are lost mid-way. */
  async kill(part: Part): Promise<void> {
    await this.signal(part, 'SIGKILL');
  }

  /** SIGTERM: the graceful path (the worker lets attempts in flight finish). */
  async terminate(part: Part): Promise<number> {
    const started = Date.now();
    await this.signal(part, 'SIGTERM');
    return Date.now() - started;
  }

  private async signal(part: Part, signal: NodeJS.Signals): Promise<void> {
    const child = this.processes.get(part);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Forget the worker's earlier "polling" line so a restart waits for its own.
    if (part === 'worker') this.output.splice(0, this.output.length, ...this.output.filter((line) => !line.includes('polling task queue')));
    this.stopping.add(child);
    child.kill(signal);
    await exited;
  }

  async restartTemporal(): Promise<void> {
    await this.temporal.stop();
    this.temporal = await startTemporalDevServer({ cliPath: temporalCliPath(undefined, () => undefined), dbFilename: join(this.dir, 'temporal.db'), port: this.temporalPort });
  }

  async restartPostgres(downForMs: number): Promise<void> {
    await this.postgres.stop();
    await new Promise((resolve) => setTimeout(resolve, downForMs));
    this.postgres = await startEmbeddedPostgres(join(this.dir, 'postgres'), this.postgresPort);
  }

  async request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${this.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
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
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.output.slice(-20).join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async stop(): Promise<void> {
    for (const part of ['api', 'worker'] as const) await this.signal(part, 'SIGTERM');
    await this.pool.end().catch(() => undefined);
    await this.temporal.stop().catch(() => undefined);
    await this.postgres.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export type ReceiverAnswer = (path: string, eventId: string, attempt: number) => { status: number; delayMs?: number };

/** A receiver on 127.0.0.1 whose answers a scenario decides; it counts every receipt per (event, subscription). */
export class CountingReceiver {
  readonly receipts = new Map<string, number>();
  private server?: Server;

  constructor(private answer: ReceiverAnswer) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const key = `${req.headers['x-intelliauth-event-id']}|${req.url}`;
        this.receipts.set(key, (this.receipts.get(key) ?? 0) + 1);
        const { status, delayMs } = this.answer(req.url ?? '', String(req.headers['x-intelliauth-event-id']), Number(req.headers['x-intelliauth-delivery-attempt']));
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
