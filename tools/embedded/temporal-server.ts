import { Connection } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { SEARCH_ATTRIBUTE_KEYS } from '../../libs/contracts/delivery-workflow';
import {
  killGroup,
  OutputTail,
  readOutput,
  RunningProcess,
  spawnDetached,
  stopProcess,
  untilServing,
} from './child-process';
import { assertPortFree, freePort } from './free-port';

export interface RunningTemporal extends RunningProcess {
  address: string;
}

export interface DevServerOptions {
  /** The `temporal` CLI; undefined lets the SDK download its pinned dev server. */
  cliPath: string | undefined;
  /** SQLite file that keeps workflows across restarts; undefined keeps them in memory (tests). */
  dbFilename?: string;
  /** Undefined picks a free port. */
  port?: number;
  uiPort?: number;
  namespace?: string;
  /** The server's output (errors only: it runs with --log-level error). */
  log?: (text: string) => void;
  /** A lower CPU priority for the server's session (see spawnDetached); not applied to a server the SDK spawns. */
  sessionNice?: number;
}

/** The dev server answers and has this product's search attributes (registered by start-dev's flags). */
async function serving(address: string, namespace: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: '2s' });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    return SEARCH_ATTRIBUTE_KEYS.every((key) => customAttributes?.[key.name] !== undefined);
  } finally {
    await connection.close();
  }
}

/** Workflows whose mutable state the dev server's history service keeps in memory (Temporal's default: 128,000, each up to an hour). */
const HISTORY_CACHE_ENTRIES = 500;
/** How often the visibility queue reads its tasks (Temporal's default: 20), and how many each read may take (100). */
const VISIBILITY_READS_PER_SECOND = 5;
const VISIBILITY_TASKS_PER_READ = 1_000;

/** The flags `temporal server start-dev` gets, the same whether this module or the SDK spawns it. */
function devServerFlags(options: DevServerOptions): string[] {
  return [
    '--log-level',
    'error',
    ...SEARCH_ATTRIBUTE_KEYS.flatMap((key) => [
      '--search-attribute',
      `${key.name}=${TypedSearchAttributes.toMetadataType(key.type)}`,
    ]),
    // WAL with synchronous=NORMAL survives a killed process (not a power cut) and is several times faster than
    // the default rollback journal for the dev server's many small writes.
    ...(options.dbFilename ? ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal'] : []),
    // By default each delivery's state stayed cached for an hour after it ended. It is needed for the milliseconds
    // of its start and its task, then again only when a retry timer fires, when reading it back from SQLite is cheap.
    '--dynamic-config-value',
    `history.hostLevelCacheMaxSize=${HISTORY_CACHE_ENTRIES}`,
    // The visibility queue reads its tasks a few times a second instead of as they come: a delivery that ended
    // before its start task was read gets only its closed record (the server skips the start record of a run that
    // has closed), and each record costs the dev server a row in some 45 SQLite indexes and two full-text tables.
    // The Web UI's list shows a run at most this much later; reads of a run itself are not delayed.
    '--dynamic-config-value',
    `history.visibilityProcessorMaxPollRPS=${VISIBILITY_READS_PER_SECOND}`,
    '--dynamic-config-value',
    `history.visibilityTaskBatchSize=${VISIBILITY_TASKS_PER_READ}`,
  ];
}

/**
 * A Temporal dev server (`temporal server start-dev`) with this product's search attributes registered, in a
 * process group of its own so a terminal's Ctrl-C does not reach it: whoever started it stops it (SIGTERM, after
 * the worker has reported its attempts). Only when no CLI is at hand does the SDK download and spawn one, and then
 * it runs in the caller's process group.
 */
export async function startTemporalDevServer(options: DevServerOptions): Promise<RunningTemporal> {
  const namespace = options.namespace ?? 'default';
  if (!options.cliPath) return startThroughSdk(options, namespace);
  const port = options.port ?? (await freePort());
  const address = `127.0.0.1:${port}`;
  await assertPortFree(port, 'the Temporal dev server');
  if (options.uiPort !== undefined) await assertPortFree(options.uiPort, "the Temporal dev server's Web UI");
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--namespace',
    namespace,
    ...(options.dbFilename ? ['--db-filename', options.dbFilename] : []),
    ...(options.uiPort !== undefined ? ['--ui-port', String(options.uiPort)] : ['--headless']),
    ...devServerFlags(options),
  ];
  const tail = new OutputTail();
  const child = spawnDetached(options.cliPath, args, { sessionNice: options.sessionNice });
  readOutput(child, (text) => {
    tail.push(text);
    options.log?.(text);
  });
  try {
    await untilServing(
      child,
      `the Temporal dev server on ${address}`,
      () => serving(address, namespace),
      120_000,
      tail,
    );
  } catch (error) {
    killGroup(child);
    throw error;
  }
  return { address, child, stop: () => stopProcess(child, 'SIGTERM', 15_000) };
}

async function startThroughSdk(options: DevServerOptions, namespace: string): Promise<RunningTemporal> {
  // The SDK's runtime spawns the server; by default it would also exit this process on SIGINT, before cleanup.
  try {
    Runtime.install({ shutdownSignals: [], logger: new DefaultLogger('WARN') });
  } catch {
    // installed already by this process (tests, tools), with their own options
  }
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'cached-download' },
      ip: '127.0.0.1',
      port: options.port,
      namespace,
      dbFilename: options.dbFilename,
      ui: options.uiPort !== undefined,
      uiPort: options.uiPort,
      extraArgs: devServerFlags(options),
    },
  });
  return { address: env.connection.options.address, child: undefined, stop: () => env.teardown() };
}
