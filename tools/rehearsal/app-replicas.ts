import { join } from 'node:path';
import { projectRoot } from '../../libs/config/project-root';
import { freePort } from '../embedded/free-port';
import { ComposeFile, composeService } from './compose-services';
import { ManagedProcess } from './managed-process';

export type AppKind = 'api' | 'worker';

export interface AppReplica {
  kind: AppKind;
  process: ManagedProcess;
  /** Where its /metrics, /healthz and /readyz answer (the api's REST port, the worker's WORKER_METRICS_PORT). */
  url: string;
}

export interface ReplicaOptions {
  compose: ComposeFile;
  /** The variables compose interpolates (API_KEYS, SECRETS_MASTER_KEYS, WEBHOOK_*...). */
  variables: Record<string, string | undefined>;
  databaseUrl: string;
  temporalAddress: string;
  logDir: string;
}

async function ready(url: string): Promise<boolean> {
  const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
  return response.ok;
}

/**
 * An api or worker replica started with compose's command and environment for that service; only what one host
 * must give each replica differs: where Postgres and the Temporal frontends are, and its own ports (in compose every
 * container has the same ports on an address of its own).
 */
export async function appReplica(kind: AppKind, index: number, options: ReplicaOptions): Promise<AppReplica> {
  const { command, environment } = composeService(options.compose, kind, options.variables);
  if (command[0] !== 'node') throw new Error(`compose's ${kind} command is not node: ${command.join(' ')}`);
  const ports: Record<string, string> =
    kind === 'api'
      ? { PORT: String(await freePort()), GRPC_PORT: String(await freePort()) }
      : { WORKER_METRICS_PORT: String(await freePort()), WORKER_SDK_METRICS_PORT: String(await freePort()) };
  const url = `http://127.0.0.1:${kind === 'api' ? ports.PORT : ports.WORKER_METRICS_PORT}`;
  const process = new ManagedProcess(
    {
      name: `${kind}-${index}`,
      command: globalThis.process.execPath,
      args: command.slice(1),
      cwd: projectRoot(),
      env: {
        PATH: globalThis.process.env.PATH,
        // The image's environment (Dockerfile ENV).
        NODE_ENV: 'production',
        ...environment,
        DATABASE_URL: options.databaseUrl,
        TEMPORAL_ADDRESS: options.temporalAddress,
        ...ports,
        LOG_FORMAT: 'json',
      },
      ready: () => ready(url),
      // The worker bundles the workflow code before it polls (compose's start_period: 60 s).
      startTimeoutMs: 180_000,
      stopSignal: 'SIGTERM',
      // Compose's stop_grace_period for the worker; the api drains its requests well within it.
      stopTimeoutMs: 30_000,
    },
    join(options.logDir, `${kind}-${index}.log`),
  );
  return { kind, process, url };
}
