import { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig } from '../../libs/config/config';
import { projectRoot } from '../../libs/config/project-root';
import { migrate } from '../../libs/db/migrate';
import { SecretBox } from '../../libs/secrets/secret-box';
import {
  killGroup,
  OutputTail,
  readOutput,
  RunningProcess,
  spawnDetached,
  stopProcess,
  untilServing,
} from './child-process';
import { freePort } from './free-port';
import { PartCheckMessage, READY_MESSAGE } from '../../libs/lifecycle/launcher-channel';
import { startEmbeddedPostgres } from './postgres';
import { PartState, RestartPolicy, Supervisor } from './supervisor';
import { startTemporalDevServer } from './temporal-server';
import { temporalCliPath } from './toolchain';

export type PartName = 'postgres' | 'temporal' | 'api' | 'worker';

export interface LaunchOptions {
  config: AppConfig;
  apiKey: string;
  /** DATA_DIR: where the embedded default keeps the master key it generates (see embeddedMasterKeys). */
  dataDir: string;
  /** TEMPORAL_CLI_PATH: the `temporal` binary; undefined looks on PATH, then in the cache. */
  temporalCliPath?: string;
  postgresDir: string;
  postgresPort: number;
  /** Undefined picks a free port (kept across restarts of the dev server). */
  temporalPort?: number;
  temporalUiPort?: number;
  /** SQLite file for the dev server; undefined keeps workflows in memory. */
  temporalDbFile?: string;
  say: (message: string) => void;
  /** Aborting it stops everything, a launch still under way included (which then rejects). */
  abort?: AbortSignal;
  /** Where child output goes; defaults to this process's stdout/stderr with a [name] prefix. */
  childOutput?: 'inherit' | 'ignore';
  /** Takes the children's output instead of this process's stdout/stderr (tests read the logs of a run). */
  onChildOutput?: (name: string, text: string) => void;
  /**
   * WEBHOOK_ALLOWED_TARGETS for the api and the worker. Defaults to the user's WEBHOOK_ALLOWED_TARGETS when set
   * (even empty), otherwise to EMBEDDED_ALLOWED_TARGETS.
   */
  outboundAllowlist?: string[];
  /** The backoff of restarts (default: 0.25 s, 1.5 times longer per exit in a row up to 30 s, starting over after a minute of running). */
  restartPolicy?: Partial<RestartPolicy>;
}

/**
 * V8 heap limits for the api and the worker on the one small box the embedded default runs on. V8 otherwise grows
 * its young generation to 3 x 16 MiB and its old space far beyond what these processes keep alive, which doubled
 * their resident memory under load; with these a delivery costs the same CPU. The worker's young generation is the
 * larger because its heap also runs the workflow sandbox: at half the size, its scavenges cost more CPU per delivery.
 * The worker's old-space limit also bounds that sandbox, which holds up to WORKER_CACHED_WORKFLOWS waiting
 * deliveries. MALLOC_ARENA_MAX=1 keeps glibc from giving the Temporal core's threads arenas of their own, whose
 * freed memory is rarely handed back: one arena lowers the worker's peak memory under sustained load at the same CPU
 * per delivery.
 */
const APP_NODE_FLAGS: Record<'api' | 'worker', string[]> = {
  api: ['--max-semi-space-size=1', '--max-old-space-size=96'],
  worker: ['--max-semi-space-size=4', '--max-old-space-size=192'],
};

/**
 * The CPU priority of the parts that drain the outbox, the worker and the Temporal server, below the publish path's
 * (the api and Postgres) when they all share one small box: a publish is answered from what it commits, so when
 * the box is saturated the deliveries wait in the outbox rather than the publishers, and the drain has the CPU back
 * once they pause. Against equal priority, a burst of publishes is accepted about twice as fast while the drain
 * delivers as fast, paced publishes are answered sooner, and sustained deliveries keep their pace.
 */
const DRAIN_SESSION_NICE = 10;

/** What the embedded default lets webhooks reach although private: this machine's loopback, for local receivers. */
export const EMBEDDED_ALLOWED_TARGETS: readonly string[] = ['127.0.0.1/32', '::1/128'];

export interface Launched {
  databaseUrl: string;
  temporalAddress: string;
  temporalUiUrl: string | undefined;
  apiUrl: string;
  /** The worker's endpoint: /metrics, /healthz, /readyz. */
  workerUrl: string;
  /** The SSRF guard's allowlist the api and the worker run with, and whether it is the embedded default. */
  outboundAllowlist: string[];
  outboundAllowlistDefaulted: boolean;
  /** The latest api and worker processes (a restart replaces them; the worker's may have failed to start). */
  readonly api: ChildProcess;
  readonly worker: ChildProcess;
  /** Whether the part runs now (not waiting for or in the middle of a restart). */
  isRunning(part: PartName): boolean;
  /** Sends a signal to a part; an exit it causes is handled like a crash (restarted with backoff). */
  signal(part: PartName, signal: NodeJS.Signals): Promise<void>;
  /** Stops one part on purpose (no restart) and starts it again with startPart. */
  stopPart(part: PartName): Promise<void>;
  startPart(part: PartName): Promise<void>;
  /** Resolves once the part runs (again, after a restart). */
  whenRunning(part: PartName): Promise<void>;
  /** Api and worker first (attempts in flight finish and are recorded), then Temporal, then Postgres. */
  stop(): Promise<void>;
}

/**
 * The environment the api and worker processes run with: everything the launcher decided (where Postgres and
 * Temporal are, keys, ports, delivery policy, outbound allowlist) spelled out, so a child reads one truth.
 */
export function appEnvironment(
  config: AppConfig,
  options: { apiKey?: string; outboundAllowlist: string[]; dataDir: string },
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    WEBHOOK_ALLOWED_TARGETS: options.outboundAllowlist.join(','),
    DATABASE_URL: config.databaseUrl,
    TEMPORAL_ADDRESS: config.temporalAddress,
    API_KEYS: config.apiKeys.length > 0 ? config.apiKeys.join(',') : options.apiKey,
    SECRETS_MASTER_KEYS: config.secretsMasterKeys ?? embeddedMasterKeys(options.dataDir),
    PORT: String(config.port),
    GRPC_PORT: String(config.grpcPort),
    WORKER_METRICS_PORT: String(config.workerMetricsPort),
    WORKER_SDK_METRICS_PORT: String(config.workerSdkMetricsPort),
    // The children write to the launcher's pipes: pretty lines when the launcher itself writes to a terminal.
    LOG_LEVEL: config.logLevel,
    LOG_FORMAT: config.logFormat ?? (process.stdout.isTTY ? 'pretty' : 'json'),
    TEMPORAL_NAMESPACE: config.temporalNamespace,
    TEMPORAL_TASK_QUEUE: config.temporalTaskQueue,
    WEBHOOK_RETRY_SCHEDULE: config.delivery.retryScheduleMs.map((ms) => `${ms}ms`).join(','),
    WEBHOOK_ATTEMPT_TIMEOUT: `${config.delivery.attemptTimeoutMs}ms`,
    WEBHOOK_TTL: `${config.delivery.ttlMs}ms`,
    PUBLISH_RATE_LIMIT: String(config.publishRatePerTenant),
    SUBSCRIPTION_MAX_IN_FLIGHT: String(config.subscriptionLimits.maxInFlight),
    SUBSCRIPTION_MAX_PER_SECOND: String(config.subscriptionLimits.maxPerSecond),
    RETENTION: `${config.retention.retentionMs}ms`,
    DEAD_LETTER_RETENTION: `${config.retention.deadLetterRetentionMs}ms`,
    RETENTION_PURGE_INTERVAL: `${config.retention.purgeIntervalMs}ms`,
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

/** Bounds on a stop, after which the part's process group is killed. The worker's is above its shutdown grace
 * (SHUTDOWN_GRACE, 20 s), so attempts in flight finish and are recorded first. */
const STOP_TIMEOUT_MS: Record<'api' | 'worker', number> = { api: 15_000, worker: 30_000 };

function prefixLines(name: string, text: string): string {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => `[${name}] ${line}\n`)
    .join('');
}

/**
 * The api or the worker as a child process in a process group of its own, with an IPC channel on which it says it
 * serves (see launcher-channel.ts) and by which it notices a launcher that disappeared.
 */
function appProcess(
  name: 'api' | 'worker',
  env: NodeJS.ProcessEnv,
  output: 'pipe' | 'ignore',
  onText: (text: string) => void,
): () => Promise<RunningProcess> {
  return async () => {
    const child = spawnDetached(
      process.execPath,
      [...APP_NODE_FLAGS[name], join(projectRoot(), 'dist', 'apps', name, 'src', 'main.js')],
      {
        env: { MALLOC_ARENA_MAX: '1', ...env },
        stdio: ['ignore', output, output, 'ipc'],
        sessionNice: name === 'worker' ? DRAIN_SESSION_NICE : undefined,
      },
    );
    const tail = new OutputTail();
    readOutput(child, (text) => {
      tail.push(text);
      onText(text);
    });
    let ready = false;
    child.on('message', (message) => (ready ||= message === READY_MESSAGE));
    try {
      await untilServing(child, `the ${name}`, async () => ready, 180_000, tail);
    } catch (error) {
      killGroup(child);
      throw error;
    }
    return { child, stop: () => stopProcess(child, 'SIGTERM', STOP_TIMEOUT_MS[name]) };
  };
}

/** The stop() of every launch still running in this process. */
const live = new Set<() => Promise<void>>();
let signalsGuarded = false;

/**
 * The parts run in process groups of their own, so a signal that ends this process does not reach them. For a
 * program with no handler of its own for SIGINT, SIGTERM or SIGHUP (the bench, the faults; npm start has its own),
 * that signal stops every launch in order, then exits 130.
 */
function guardSignals(): void {
  if (signalsGuarded) return;
  signalsGuarded = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => void Promise.all([...live].map((stop) => stop())).finally(() => process.exit(130)));
  }
}

/** The worker as the api's /readyz shows it: 'ok' while it runs, else what the launcher is doing about it. */
function workerCheck(state: PartState): string {
  switch (state.state) {
    case 'running':
      return 'ok';
    case 'starting':
      return state.exitsInARow === 0
        ? 'starting'
        : `restarting: starting again after ${state.exitsInARow} exits in a row (last: ${state.lastExit})`;
    case 'waiting':
      return `restarting: ${state.exitsInARow} exits in a row (last: ${state.lastExit}); next start at ${new Date(state.restartAt).toISOString()}`;
    case 'stopped':
      return 'stopped';
  }
}

/**
 * The embedded default as supervised processes, each in a process group of its own (a terminal's Ctrl-C reaches
 * only the caller, which calls stop()): Postgres (embedded unless DATABASE_URL), a Temporal dev server (unless
 * TEMPORAL_ADDRESS), migrations, then the api and the worker. Postgres and the dev server must come up, else the
 * launch fails; the api and the worker are supervised from their first start, so one that dies while starting is
 * restarted like one that dies later (the launch waits for the api to serve, not for the worker). A part that exits
 * by itself is restarted with backoff for as long as the launch runs, while the others keep running; the api is told
 * how the worker is doing. Used by `npm start`, the bench and the fault harness.
 */
export async function launchEmbedded(options: LaunchOptions): Promise<Launched> {
  const { config, say } = options;
  const output = (name: string, text: string) =>
    options.onChildOutput ? options.onChildOutput(name, text) : process.stdout.write(prefixLines(name, text));
  let stopped: Promise<void> | undefined;
  let worker: PartCheckMessage = { type: 'intelliauth:part-check', part: 'worker', check: 'starting' };
  const tellApi = () => {
    const api = supervisor.running('api')?.child;
    // An api that is exiting or not yet listening misses nothing: it is sent the latest once it says it serves.
    if (supervisor.state('api')?.state === 'running' && api?.connected) api.send(worker, () => undefined);
  };
  const supervisor = new Supervisor({
    say,
    policy: options.restartPolicy,
    onState: (name, state) => {
      if (name === 'worker') worker = { ...worker, check: workerCheck(state) };
      if (name === 'worker' || (name === 'api' && state.state === 'running')) tellApi();
    },
  });
  const stop = () =>
    (stopped ??= (async () => {
      await Promise.all([supervisor.stop('api'), supervisor.stop('worker')]);
      await supervisor.stop('temporal').catch(() => undefined);
      await supervisor.stop('postgres').catch(() => undefined);
      live.delete(stop);
    })());
  live.add(stop);
  guardSignals();
  if (options.abort?.aborted) void stop();
  options.abort?.addEventListener('abort', () => void stop());
  // A stop during the launch: what is under way finishes and is stopped, and nothing further is started.
  const going = () => {
    if (stopped) throw new Error('the launch was stopped');
  };
  const started = (name: PartName, start: () => Promise<RunningProcess>) => {
    going();
    return supervisor.start(name, start);
  };

  try {
    let databaseUrl = config.databaseUrl;
    if (databaseUrl === undefined) {
      say(`starting embedded Postgres (data in ${options.postgresDir})...`);
      // Its log is chatty; only what says why it stopped is shown.
      const log = (text: string) => {
        const serious = text
          .split('\n')
          .filter((line) => /\b(FATAL|PANIC)\b/.test(line))
          .join('\n');
        if (serious || options.onChildOutput) output('postgres', options.onChildOutput ? text : serious);
      };
      let url = '';
      await started('postgres', async () => {
        const postgres = await startEmbeddedPostgres(options.postgresDir, options.postgresPort, log);
        url = postgres.url;
        return postgres;
      });
      databaseUrl = url;
    }
    going();
    await migrate(databaseUrl);

    let temporalAddress = config.temporalAddress;
    let temporalUiUrl: string | undefined;
    if (temporalAddress === undefined) {
      const cliPath = temporalCliPath(options.temporalCliPath, say);
      const port = options.temporalPort ?? (await freePort());
      temporalAddress = `127.0.0.1:${port}`;
      say(
        `starting the Temporal dev server (${options.temporalDbFile ? `workflows kept in ${options.temporalDbFile}` : 'in memory'})...`,
      );
      await started('temporal', () =>
        startTemporalDevServer({
          cliPath,
          dbFilename: options.temporalDbFile,
          port,
          uiPort: options.temporalUiPort,
          namespace: config.temporalNamespace,
          log: (text) => output('temporal', text),
          sessionNice: DRAIN_SESSION_NICE,
        }),
      );
      if (options.temporalUiPort) temporalUiUrl = `http://127.0.0.1:${options.temporalUiPort}`;
    }

    const outboundAllowlistDefaulted =
      options.outboundAllowlist === undefined && process.env.WEBHOOK_ALLOWED_TARGETS === undefined;
    const outboundAllowlist =
      options.outboundAllowlist ??
      (outboundAllowlistDefaulted ? [...EMBEDDED_ALLOWED_TARGETS] : config.outboundAllowlist);
    const env = appEnvironment(
      { ...config, databaseUrl, temporalAddress },
      { apiKey: options.apiKey, outboundAllowlist, dataDir: options.dataDir },
    );
    const pipe = options.childOutput === 'ignore' ? 'ignore' : 'pipe';
    going();
    await Promise.all(
      (['worker', 'api'] as const).map((name) =>
        supervisor.supervise(
          name,
          appProcess(name, env, pipe, (text) => output(name, text)),
        ),
      ),
    );
    await supervisor.whenRunning('api');
    return {
      databaseUrl,
      temporalAddress,
      temporalUiUrl,
      apiUrl: `http://127.0.0.1:${config.port}`,
      workerUrl: `http://127.0.0.1:${config.workerMetricsPort}`,
      outboundAllowlist,
      outboundAllowlistDefaulted,
      get api() {
        return supervisor.running('api')?.child as ChildProcess;
      },
      get worker() {
        return supervisor.running('worker')?.child as ChildProcess;
      },
      isRunning: (part) => supervisor.state(part)?.state === 'running',
      async signal(part, signal) {
        const child = supervisor.running(part)?.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill(signal);
        await exited;
      },
      stopPart: (part) => supervisor.stop(part),
      startPart: (part) => supervisor.restart(part),
      whenRunning: (part) => supervisor.whenRunning(part),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
