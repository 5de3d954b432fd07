import { Pool } from 'pg';
import { DELIVERY_STATUSES } from '../../libs/contracts/delivery-status';
import { testPool } from '../helpers/database';

/** The deliveries table's CHECK constraint, as the migrations left it, allows exactly the statuses the code knows. */
describe('deliveries_status_check', () => {
  let pool: Pool;

  beforeAll(() => {
    pool = testPool();
  });

  afterAll(async () => {
    await pool.end();
  });

  it('lists the same statuses as DELIVERY_STATUSES, in the same order', async () => {
    const { rows } = await pool.query<{ definition: string }>(
      `SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint
        WHERE conrelid = 'deliveries'::regclass AND conname = 'deliveries_status_check'`,
    );
    expect(rows).toHaveLength(1);
    // Postgres prints the IN list as: CHECK ((status = ANY (ARRAY['pending'::text, 'attempting'::text, ...])))
    const allowed = [...rows[0].definition.matchAll(/'([^']+)'::text/g)].map((match) => match[1]);
    expect(allowed).toEqual([...DELIVERY_STATUSES]);
  });
});
