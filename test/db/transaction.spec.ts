import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'pg';
import { withTransaction } from '../../libs/db/pool';
import { testPool } from '../helpers/database';

/** Against the suite's real Postgres: what a restart does to a transaction in progress, done to one backend. */
describe('withTransaction', () => {
  let pool: Pool;
  let admin: Pool;

  beforeAll(() => {
    pool = testPool();
    admin = testPool();
  });

  afterAll(async () => {
    await pool.end();
    await admin.end();
  });

  it('survives the server ending its connection between two statements, and the pool keeps working', async () => {
    const attempt = withTransaction(pool, async (client) => {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await admin.query('SELECT pg_terminate_backend($1::int)', [rows[0].pid]);
      // Give the FATAL message time to arrive while no statement is running: the moment that used to crash the process.
      await sleep(200);
      await client.query('SELECT 1');
    });
    await expect(attempt).rejects.toThrow();
    expect(pool.totalCount).toBe(0); // the dead client was destroyed, not handed back
    const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
    expect(rows[0].one).toBe(1);
  });

  it('rolls back what the work wrote when the work throws', async () => {
    const table = `tx_probe_${process.pid}`;
    await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (id int)`);
    try {
      await expect(
        withTransaction(pool, async (client) => {
          await client.query(`INSERT INTO ${table} VALUES (1)`);
          throw new Error('work failed');
        }),
      ).rejects.toThrow('work failed');
      const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
      expect(rows[0].n).toBe(0);
    } finally {
      await pool.query(`DROP TABLE ${table}`);
    }
  });
});
