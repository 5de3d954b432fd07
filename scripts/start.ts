/**
 * `npm start`: the embedded default. Postgres (embedded, or DATABASE_URL), a Temporal dev server (with its
 * SQLite file, or TEMPORAL_ADDRESS), migrations, then the api and the worker as child processes.
 * Ctrl-C stops everything it started; data stays in DATA_DIR, so the next start resumes waiting deliveries.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { AppConfig, ConfigError, loadConfig } from '../libs/config/config';
import { projectRoot } from '../libs/config/project-root';
import { migrate } from '../libs/db/migrate';
import { RunningPostgres, startEmbeddedPostgres } from '../libs/embedded/postgres';
import { RunningTemporal, startTemporalDevServer } from '../libs/embedded/temporal-server';
import { temporalCliPath } from '../libs/embedded/toolchain';

const EMBEDDED_POSTGRES_PORT = Number(process.env.EMBEDDED_POSTGRES_PORT || 54329);
const EMBEDDED_TEMPORAL_PORT = Number(process.env.EMBEDDED_TEMPORAL_PORT || 7233);
const TEMPORAL_UI_PORT = Number(process.env.TEMPORAL_UI_PORT || 8233);

const say = (message: string) => console.log(`[start] ${message}`);

/** The embedded default's service key: made once, kept in DATA_DIR so it survives restarts. */
function embeddedApiKey(config: AppConfig): string {
  if (config.apiKeys.length > 0) return config.apiKeys[0];
  const file = join(config.dataDir, 'api-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = `iaw_sk_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

function runApp(name: 'api' | 'worker', env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, [join(projectRoot(), 'dist', 'apps', name, 'src', 'main.js')], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = (chunk: Buffer) =>
    chunk
      .toString('utf8')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => `[${name}] ${line}\n`)
      .join('');
  child.stdout?.on('data', (chunk: Buffer) => process.stdout.write(prefix(chunk)));
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(prefix(chunk)));
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** The summary is printed once the api answers, so the key shown is one that works. */
async function apiAnswering(port: number, gaveUp: () => boolean): Promise<void> {
  for (let tries = 0; tries < 600 && !gaveUp(); tries++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`[start] configuration error: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  mkdirSync(config.dataDir, { recursive: true });
  // This script owns Ctrl-C: the SDK runtime (which runs the dev server) must not exit the process before cleanup.
  Runtime.install({ shutdownSignals: [], logger: new DefaultLogger('WARN') });

  let postgres: RunningPostgres | undefined;
  let temporal: RunningTemporal | undefined;
  const children: ChildProcess[] = [];
  let stopping = false;

  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping...');
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map(exited));
    await temporal?.stop().catch(() => undefined);
    await postgres?.stop().catch(() => undefined);
    say('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  let databaseUrl = config.databaseUrl;
  if (databaseUrl === undefined) {
    say(`starting embedded Postgres (data in ${join(config.dataDir, 'postgres')})...`);
    postgres = await startEmbeddedPostgres(join(config.dataDir, 'postgres'), EMBEDDED_POSTGRES_PORT);
    databaseUrl = postgres.url;
  }
  await migrate(databaseUrl);

  let temporalAddress = config.temporalAddress;
  if (temporalAddress === undefined) {
    say(`starting the Temporal dev server (workflows kept in ${join(config.dataDir, 'temporal.db')})...`);
    temporal = await startTemporalDevServer({
      cliPath: temporalCliPath(config.temporalCliPath, say),
      dbFilename: join(config.dataDir, 'temporal.db'),
      port: EMBEDDED_TEMPORAL_PORT,
      uiPort: TEMPORAL_UI_PORT,
    });
    temporalAddress = temporal.address;
  }

  const apiKey = embeddedApiKey(config);
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    API_KEYS: config.apiKeys.length > 0 ? config.apiKeys.join(',') : apiKey,
  };
  for (const name of ['worker', 'api'] as const) {
    const child = runApp(name, env);
    children.push(child);
    child.once('exit', (code, signal) => {
      if (!stopping) {
        console.error(`[start] ${name} exited (${signal ?? code}); stopping the rest`);
        void stop(1);
      }
    });
  }

  await apiAnswering(config.port, () => stopping);
  const lines = [
    `REST API      http://127.0.0.1:${config.port}/v1   (OpenAPI page: http://127.0.0.1:${config.port}/docs)`,
    `API key       ${apiKey}   (Authorization: Bearer <key>)`,
    `Temporal      ${temporalAddress}` + (temporal ? `   Web UI: http://127.0.0.1:${TEMPORAL_UI_PORT}` : ''),
    `Postgres      ${databaseUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')}`,
    `Data          ${config.dataDir}`,
    `Schedule      ${config.delivery.retryScheduleMs.map((ms) => `${ms / 1000}s`).join(', ')}; attempt timeout ${config.delivery.attemptTimeoutMs / 1000}s; TTL ${config.delivery.ttlMs / 3_600_000}h`,
    'Ctrl-C stops everything started here.',
  ];
  console.log(`\n${lines.map((line) => `  ${line}`).join('\n')}\n`);
}

main().catch((error: Error) => {
  console.error(`[start] failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
