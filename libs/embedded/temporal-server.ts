import { TestWorkflowEnvironment } from '@temporalio/testing';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/definitions';

export interface RunningTemporal {
  address: string;
  env: TestWorkflowEnvironment;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  /** The `temporal` CLI; undefined lets the SDK download its pinned dev server. */
  cliPath: string | undefined;
  /** SQLite file that keeps workflows across restarts; undefined keeps them in memory (tests). */
  dbFilename?: string;
  port?: number;
  uiPort?: number;
}

/**
 * A Temporal dev server (`temporal server start-dev`) with this product's search attributes registered,
 * started through the SDK so readiness and shutdown are handled in one place.
 */
export async function startTemporalDevServer(options: DevServerOptions): Promise<RunningTemporal> {
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: options.cliPath ? { type: 'existing-path', path: options.cliPath } : { type: 'cached-download' },
      ip: '127.0.0.1',
      port: options.port,
      dbFilename: options.dbFilename,
      ui: options.uiPort !== undefined,
      uiPort: options.uiPort,
      searchAttributes: SEARCH_ATTRIBUTE_KEYS,
      // WAL with synchronous=NORMAL survives a killed process (not a power cut) and is several times faster than
      // the default rollback journal for the dev server's many small writes.
      extraArgs: ['--log-level', 'error', ...(options.dbFilename ? ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal'] : [])],
    },
  });
  const address = env.connection.options.address;
  return { address, env, stop: () => env.teardown() };
}
