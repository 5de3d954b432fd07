import { DatabaseError, Pool, PoolClient } from 'pg';
import type { DatabaseLimits } from '../config/config';

/**
 * `limits` bound what one statement or transaction may hold, so a slow query or a flood of requests cannot starve
 * the rest: pg sends the two timeouts as settings of each new session (0 leaves Postgres' own, none). Migrations
 * connect on their own and are not bound by them.
 */
export function createPool(databaseUrl: string, max = 10, limits?: DatabaseLimits): Pool {
  const pool = new Pool({
    connectionString: databaseUrl,
    max,
    application_name: 'intelliauth-webhooks',
    ...(limits && {
      connectionTimeoutMillis: limits.poolTimeoutMs,
      statement_timeout: limits.statementTimeoutMs,
      idle_in_transaction_session_timeout: limits.idleInTransactionTimeoutMs,
    }),
  });
  // An idle client losing its server (Postgres restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Runs `work` in one transaction on one borrowed client; rolls back and rethrows on any error. A connection the
 * server ends mid-transaction (Postgres restarting, an administrator's pg_terminate_backend) fails the statement in
 * progress and is thrown away, never returned to the pool.
 */
export async function withTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // pg emits 'error' on a borrowed client whose connection dies between two statements; with no listener that
  // event would end the process.
  let connectionLost: Error | undefined;
  const onConnectionLost = (error: Error) => (connectionLost = error);
  client.on('error', onConnectionLost);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => (connectionLost ??= rollbackError));
    throw error;
  } finally {
    client.off('error', onConnectionLost);
    client.release(connectionLost);
  }
}

/** Where a repository runs a statement: the pool, or the client of a transaction the caller holds open. */
export type Db = Pool | PoolClient;

/** Runs `work` in a transaction of its own, or inside the caller's when `db` is the client of one. */
export function inTransaction<T>(db: Db, work: (client: PoolClient) => Promise<T>): Promise<T> {
  return db instanceof Pool ? withTransaction(db, work) : work(db);
}

/** SQLSTATE classes of a statement that may pass if run again: connection, transaction rollback, resources, operator intervention. */
const TRANSIENT_SQLSTATE_CLASSES = new Set(['08', '40', '53', '57']);

/**
 * Whether an error means Postgres could not be reached or answered "not now" (restarting, overloaded, a lost
 * connection), as opposed to refusing the statement itself: the first passes by waiting, the second never does.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  if (error instanceof DatabaseError) return TRANSIENT_SQLSTATE_CLASSES.has((error.code ?? '').slice(0, 2));
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return true; // ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE…
  // pg's own words when a connection ends, or a pool checkout times out.
  return typeof message === 'string' && /connection terminated|timeout exceeded when trying to connect/i.test(message);
}

/** Whether Postgres refused a value (SQLSTATE class 22: a NUL in text, an invalid byte sequence, an out-of-range number). */
export function isDataException(error: unknown): boolean {
  return error instanceof DatabaseError && (error.code ?? '').startsWith('22');
}
