import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig } from '../config/config';
import { projectRoot } from '../config/project-root';
import { migrate } from '../db/migrate';
import { SecretBox } from '../secrets/secret-box';
import { RunningPostgres, startEmbeddedPostgres } from './postgres';
import { RunningTemporal, startTemporalDevServer } from './temporal-server';
import { temporalCliPath } from './toolchain';

export interface LaunchOptions {
  config: AppConfig;
  apiKey: string;
  postgresDir: string;
  postgresPort: number;
  temporalPort?: number;
  temporalUiPort?: number;
  /** SQLite file for the dev server; undefined keeps workflows in memory. */
  temporalDbFile?: string;
  say: (message: string) => void;
  /** Called when the api or the worker exited on its own, after everything else was stopped. */
  onUnexpectedExit: (name: string, status: string) => void;
  /** Where child output goes; defaults to this process's stdout/stderr with a [name] prefix. */
  childOutput?: 'inherit' | 'ignore';
  /** Takes the children's output instead of this process's stdout/stderr (tests read the logs of a run). */
  onChildOutput?: (name: string, text: string) => void;
  /**
   * WEBHOOK_ALLOWED_TARGETS for the api and the worker. Defaults to the user's WEBHOOK_ALLOWED_TARGETS when set
   * (even empty), otherwise to EMBEDDED_ALLOWED_TARGETS.
   */
  outboundAllowlist?: string[];
}

/**
 * V8 heap limits for the api and the worker on the one small box the embedded default runs on. V8 otherwise grows
 * its young generation to 3 x 16 MiB and its old space far beyond what these processes keep alive, which doubled
 * their resident memory under load; with these the bench measured the same CPU per delivery. The worker's limit
 * also bounds its workflow sandbox, which holds up to WORKER_CACHED_WORKFLOWS waiting deliveries. MALLOC_ARENA_MAX
 * keeps glibc from giving each of the Temporal core's threads its own arena.
 */
const APP_NODE_FLAGS: Record<'api' | 'worker', string[]> = {
  api: ['--max-semi-space-size=1', '--max-old-space-size=96'],
  worker: ['--max-semi-space-size=2', '--max-old-space-size=192'],
};

/** What the embedded default lets webhooks reach although private: this machine's loopback, for local receivers. */
export const EMBEDDED_ALLOWED_TARGETS: readonly string[] = ['127.0.0.1/32', '::1/128'];

export interface Launched {
  databaseUrl: string;
  temporalAddress: string;
  temporalUiUrl: string | undefined;
  apiUrl: string;
  /** The SSRF guard's allowlist the api and the worker run with, and whether it is the embedded default. */
  outboundAllowlist: string[];
  outboundAllowlistDefaulted: boolean;
  api: ChildProcess;
  worker: ChildProcess;
  stop(): Promise<void>;
}

function prefixLines(name: string, chunk: Buffer): string {
  return chunk
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => `[${name}] ${line}\n`)
    .join('');
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * The environment the api and worker processes run with: everything the launcher decided (where Postgres and
 * Temporal are, keys, ports, delivery policy, outbound allowlist) spelled out, so a child reads one truth.
 */
export function appEnvironment(config: AppConfig, options: { apiKey?: string; outboundAllowlist: string[] }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    WEBHOOK_ALLOWED_TARGETS: options.outboundAllowlist.join(','),
    DATABASE_URL: config.databaseUrl,
    TEMPORAL_ADDRESS: config.temporalAddress,
    API_KEYS: config.apiKeys.length > 0 ? config.apiKeys.join(',') : options.apiKey,
    SECRETS_MASTER_KEYS: config.secretsMasterKeys ?? embeddedMasterKeys(config.dataDir),
    PORT: String(config.port),
    GRPC_PORT: String(config.grpcPort),
    TEMPORAL_NAMESPACE: config.temporalNamespace,
    TEMPORAL_TASK_QUEUE: config.temporalTaskQueue,
    WEBHOOK_RETRY_SCHEDULE: config.delivery.retryScheduleMs.map((ms) => `${ms}ms`).join(','),
    WEBHOOK_ATTEMPT_TIMEOUT: `${config.delivery.attemptTimeoutMs}ms`,
    WEBHOOK_TTL: `${config.delivery.ttlMs}ms`,
    PUBLISH_RATE_LIMIT: String(config.publishRatePerTenant),
  };
}

/**
 * The embedded default's master key for signing secrets at rest: made once and kept (0600) in DATA_DIR beside the
 * data it protects, like a local KMS stand-in. Production sets SECRETS_MASTER_KEYS from its secret store.
 */
function embeddedMasterKeys(dataDir: string): string {
  const file = join(dataDir, 'master-keys');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const keys = SecretBox.generateKeyEntry(`k${Date.now().toString(36)}`);
  writeFileSync(file, `${keys}\n`, { mode: 0o600 });
  return keys;
}

/** Waits until the api answers its health check, so whoever prints the key prints one that works. */
async function apiAnswering(apiUrl: string, gaveUp: () => boolean): Promise<void> {
  for (let tries = 0; tries < 600 && !gaveUp(); tries++) {
    try {
      if ((await fetch(`${apiUrl}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * The embedded default as processes: Postgres (embedded unless DATABASE_URL), a Temporal dev server (unless
 * TEMPORAL_ADDRESS), migrations, then the api and the worker as child processes. Used by `npm start` and the bench.
 */
export async function launchEmbedded(options: LaunchOptions): Promise<Launched> {
  const { config, say } = options;
  let postgres: RunningPostgres | undefined;
  let temporal: RunningTemporal | undefined;
  const children: ChildProcess[] = [];
  let stopping = false;

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopping = true;
    stopped ??= (async () => {
      // Api and worker first (the worker finishes attempts in flight and records them), Postgres last.
      for (const child of children) child.kill('SIGTERM');
      await Promise.all(children.map(exited));
      await temporal?.stop().catch(() => undefined);
      await postgres?.stop().catch(() => undefined);
    })();
    return stopped;
  };

  try {
    let databaseUrl = config.databaseUrl;
    if (databaseUrl === undefined) {
      say(`starting embedded Postgres (data in ${options.postgresDir})...`);
      postgres = await startEmbeddedPostgres(options.postgresDir, options.postgresPort);
      databaseUrl = postgres.url;
    }
    await migrate(databaseUrl);

    let temporalAddress = config.temporalAddress;
    if (temporalAddress === undefined) {
      // The caller owns Ctrl-C: the SDK runtime (which runs the dev server) must not exit the process before cleanup.
      Runtime.install({ shutdownSignals: [], logger: new DefaultLogger('WARN') });
      say(`starting the Temporal dev server (${options.temporalDbFile ? `workflows kept in ${options.temporalDbFile}` : 'in memory'})...`);
      temporal = await startTemporalDevServer({
        cliPath: temporalCliPath(config.temporalCliPath, say),
        dbFilename: options.temporalDbFile,
        port: options.temporalPort,
        uiPort: options.temporalUiPort,
      });
      temporalAddress = temporal.address;
    }

    const outboundAllowlistDefaulted = options.outboundAllowlist === undefined && process.env.WEBHOOK_ALLOWED_TARGETS === undefined;
    const outboundAllowlist = options.outboundAllowlist ?? (outboundAllowlistDefaulted ? [...EMBEDDED_ALLOWED_TARGETS] : config.outboundAllowlist);
    const env = appEnvironment({ ...config, databaseUrl, temporalAddress }, { apiKey: options.apiKey, outboundAllowlist });
    const run = (name: 'api' | 'worker') => {
      const child = spawn(process.execPath, [...APP_NODE_FLAGS[name], join(projectRoot(), 'dist', 'apps', name, 'src', 'main.js')], {
        env: { MALLOC_ARENA_MAX: '2', ...env },
        stdio: ['ignore', options.childOutput === 'ignore' ? 'ignore' : 'pipe', options.childOutput === 'ignore' ? 'ignore' : 'pipe'],
      });
      const onOutput = options.onChildOutput;
      child.stdout?.on('data', (chunk: Buffer) => (onOutput ? onOutput(name, chunk.toString('utf8')) : process.stdout.write(prefixLines(name, chunk))));
      child.stderr?.on('data', (chunk: Buffer) => (onOutput ? onOutput(name, chunk.toString('utf8')) : process.stderr.write(prefixLines(name, chunk))));
      child.once('exit', (code, signal) => {
        // One part gone leaves the product broken: stop the rest (nothing orphaned), then tell the caller.
        if (!stopping) void stop().then(() => options.onUnexpectedExit(name, String(signal ?? code)));
      });
      children.push(child);
      return child;
    };
    const worker = run('worker');
    const api = run('api');
    const apiUrl = `http://127.0.0.1:${config.port}`;
    await apiAnswering(apiUrl, () => stopping);
    return {
      databaseUrl,
      temporalAddress,
      temporalUiUrl: temporal && options.temporalUiPort ? `http://127.0.0.1:${options.temporalUiPort}` : undefined,
      apiUrl,
      outboundAllowlist,
      outboundAllowlistDefaulted,
      api,
      worker,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
