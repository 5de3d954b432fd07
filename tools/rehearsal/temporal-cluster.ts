import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { projectRoot } from '../../libs/config/project-root';
import { ComposeFile, composeService } from './compose-services';
import { freePort } from '../embedded/free-port';
import { ManagedProcess } from './managed-process';
import { TemporalServerBinaries } from './toolchain';

export interface PostgresAccess {
  host: string;
  port: number;
  user: string;
  password: string;
}

/**
 * The deploy/temporal script an operator (or compose's one-shot jobs) runs, with this environment; its output goes
 * to `<logDir>/<script>.log`. Asynchronous: the balancer in front of the frontends lives in this process.
 */
export async function runDeployScript(script: string, env: NodeJS.ProcessEnv, logDir: string): Promise<void> {
  const child = spawn('sh', [join(projectRoot(), 'deploy', 'temporal', script)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 600_000,
  });
  const log = createWriteStream(join(logDir, `${script}.log`));
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  log.end();
  if (code !== 0) throw new Error(`${script} failed (exit ${code}); its output is in ${join(logDir, `${script}.log`)}`);
}

/** Temporal's two databases created and migrated with the server release's SQL tool: deploy/temporal/setup-schema.sh. */
export function setUpTemporalSchema(
  binaries: TemporalServerBinaries,
  postgres: PostgresAccess,
  logDir: string,
): Promise<void> {
  return runDeployScript(
    'setup-schema.sh',
    {
      TEMPORAL_SQL_TOOL: binaries.sqlTool,
      POSTGRES_SEEDS: postgres.host,
      DB_PORT: String(postgres.port),
      POSTGRES_USER: postgres.user,
      POSTGRES_PWD: postgres.password,
    },
    logDir,
  );
}

const SERVICE_PORTS = [
  'FRONTEND_GRPC_PORT',
  'FRONTEND_HTTP_PORT',
  'FRONTEND_MEMBERSHIP_PORT',
  'HISTORY_GRPC_PORT',
  'HISTORY_MEMBERSHIP_PORT',
  'MATCHING_GRPC_PORT',
  'MATCHING_MEMBERSHIP_PORT',
  'WORKER_GRPC_PORT',
  'WORKER_MEMBERSHIP_PORT',
] as const;

export interface TemporalNodeOptions {
  index: number;
  compose: ComposeFile;
  binaries: TemporalServerBinaries;
  postgres: PostgresAccess;
  /** Undefined keeps compose's NUM_HISTORY_SHARDS. */
  shards?: number;
  logDir: string;
}

/**
 * One Temporal server process running all four services (frontend, history, matching, worker) on 127.0.0.1, with
 * its own ports; two of them find each other through the membership table in Postgres and share the shards. It runs
 * with compose's environment for the `temporal` service (read by the server's embedded template, as the image does);
 * only where things are on this host differs, and the connection pools, which two servers share with the app on one
 * Postgres of 200 connections here.
 */
export async function temporalNode(options: TemporalNodeOptions): Promise<{
  process: ManagedProcess;
  frontendPort: number;
  metricsPort: number;
}> {
  const ports = Object.fromEntries(
    await Promise.all(SERVICE_PORTS.map(async (name) => [name, String(await freePort())])),
  ) as Record<(typeof SERVICE_PORTS)[number], string>;
  const metricsPort = await freePort();
  const frontendPort = Number(ports.FRONTEND_GRPC_PORT);
  const process = new ManagedProcess(
    {
      name: `temporal-${options.index}`,
      command: options.binaries.server,
      args: ['start'],
      env: {
        PATH: globalThis.process.env.PATH,
        ...composeService(options.compose, 'temporal', {}).environment,
        ...ports,
        POSTGRES_SEEDS: options.postgres.host,
        DB_PORT: String(options.postgres.port),
        POSTGRES_USER: options.postgres.user,
        POSTGRES_PWD: options.postgres.password,
        SQL_MAX_CONNS: '10',
        SQL_MAX_IDLE_CONNS: '10',
        SQL_VIS_MAX_CONNS: '4',
        SQL_VIS_MAX_IDLE_CONNS: '4',
        BIND_ON_IP: '127.0.0.1',
        TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
        PROMETHEUS_ENDPOINT: `127.0.0.1:${metricsPort}`,
        DYNAMIC_CONFIG_FILE_PATH: join(projectRoot(), 'deploy', 'temporal', 'dynamicconfig.yaml'),
        LOG_LEVEL: 'warn',
        ...(options.shards ? { NUM_HISTORY_SHARDS: String(options.shards) } : {}),
      },
      ready: () => frontendServes(frontendPort),
      startTimeoutMs: 180_000,
      stopSignal: 'SIGTERM',
      stopTimeoutMs: 30_000,
    },
    join(options.logDir, `temporal-${options.index}.log`),
  );
  return { process, frontendPort, metricsPort };
}

async function frontendServes(port: number): Promise<boolean> {
  const connection = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: '2s' });
  try {
    await connection.workflowService.getSystemInfo({});
    return true;
  } finally {
    await connection.close();
  }
}
