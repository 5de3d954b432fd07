import { Pool, QueryConfig } from 'pg';
import { newEventId } from '../../libs/contracts/ids';
import { SubscriptionLimits } from '../../libs/contracts/throttle-policy';
import { EventsRepository } from '../../libs/db/events.repository';
import { OutboxRepository, START_CLAIM_LEASE_MS } from '../../libs/db/outbox.repository';
import { createPool } from '../../libs/db/pool';
import { SubscriptionsRepository } from '../../libs/db/subscriptions.repository';
import { SecretBox } from '../../libs/secrets/secret-box';
import { createIsolatedDatabase, newSubscriptionRow, testMasterKeys, uniqueTenant } from '../helpers/database';

const LIMITS: SubscriptionLimits = { maxInFlight: 10, maxPerSecond: 0 };
const BACKLOG = 2_000;
const CLAIM_SIZE = 8;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
  Plans?: PlanNode[];
}

/**
 * A burst fills the outbox faster than Postgres refreshes the table's statistics, which then still count it almost
 * empty. The statements that find their deliveries by id must still read them by primary key, not the whole outbox:
 * what they read stays the size of a claim, whatever the backlog. Measured in buffers read (not time), so the
 * machine's load does not matter.
 */
describe('outbox statements with a backlog the statistics do not know of', () => {
  let database: { url: string; drop(): Promise<void> };
  let pool: Pool;
  let outbox: OutboxRepository;
  /** The statements the repositories ran, as sent (named ones included). */
  let statements: QueryConfig[];

  beforeAll(async () => {
    database = await createIsolatedDatabase('iaw_outbox_plans');
    pool = createPool(database.url, 4);
    const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
    pool.query = ((config: QueryConfig | string, values?: unknown[]) => {
      statements.push(typeof config === 'string' ? { text: config, values } : config);
      return query(config, values);
    }) as typeof pool.query;
    statements = [];
    // Postgres must not refresh the statistics by itself while the test runs.
    await pool.query(`ALTER TABLE deliveries SET (autovacuum_enabled = false)`);
    const subscriptions = new SubscriptionsRepository(pool, SecretBox.parse(testMasterKeys()));
    const tenantId = uniqueTenant();
    await subscriptions.create(newSubscriptionRow(tenantId));
    await subscriptions.create(newSubscriptionRow(tenantId));
    const events = new EventsRepository(pool);
    const publish = (count: number) =>
      Promise.all(
        Array.from({ length: count }, (_, index) =>
          events.publish(
            {
              event_id: newEventId(),
              event_type: 'user.updated',
              occurred_at: new Date().toISOString(),
              tenant: { id: tenantId },
              data: { user: { id: `usr_${index}` } },
            },
            `hash-${index}`,
          ),
        ),
      );
    // Statistics taken while every delivery's run had started, as between bursts; then the burst's backlog.
    await publish(100);
    await pool.query(`UPDATE deliveries SET workflow_started_at = now()`);
    await pool.query(`ANALYZE deliveries`);
    for (let published = 0; published < BACKLOG / 2; published += 250) await publish(250);
    outbox = new OutboxRepository(pool);
  }, 120_000);

  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  /** The plan Postgres runs for a statement, with what each node read; run in a transaction rolled back. */
  async function analyzed(statement: QueryConfig): Promise<PlanNode> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${statement.text}`,
        statement.values,
      );
      return rows[0]['QUERY PLAN'][0].Plan;
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  }

  /** The statement a repository call sends, captured as it runs (the publishes' relay wake-ups may run meanwhile). */
  async function statementOf(call: () => Promise<unknown>): Promise<QueryConfig> {
    statements = [];
    await call();
    const sent = statements.filter((statement) => !statement.text.includes('pg_notify'));
    expect(sent).toHaveLength(1);
    return sent[0];
  }

  const scans = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(scans)];

  it('has the backlog in the outbox and statistics that count it almost empty', async () => {
    const { rows } = await pool.query<{ outbox: number; estimated: number }>(
      `SELECT (SELECT count(*)::int FROM deliveries WHERE workflow_started_at IS NULL) AS outbox,
              (SELECT round(s.null_frac * c.reltuples)::int FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename
                WHERE s.tablename = 'deliveries' AND s.attname = 'workflow_started_at') AS estimated`,
    );
    expect(rows[0].outbox).toBe(BACKLOG);
    expect(rows[0].estimated).toBeLessThan(10);
  });

  it('claims a window reading about what it claims, not the backlog', async () => {
    const claim = await statementOf(() => outbox.claim(CLAIM_SIZE, START_CLAIM_LEASE_MS, LIMITS));
    const plan = await analyzed(claim);
    // Before, the claim's update read every outbox row and its event: about 3 blocks a row.
    expect(plan['Shared Hit Blocks'] + plan['Shared Read Blocks']).toBeLessThan(BACKLOG / 4);
  });

  it('marks started runs, and gives back claims, through the primary key', async () => {
    const { rows } = await pool.query<{ id: string }>(
      `SELECT id FROM deliveries WHERE workflow_started_at IS NULL ORDER BY created_at DESC LIMIT $1::int`,
      [CLAIM_SIZE],
    );
    const ids = rows.map((row) => row.id);
    for (const call of [() => outbox.markStarted(ids), () => outbox.release(ids)]) {
      const nodes = scans(await analyzed(await statementOf(call)));
      const deliveriesIndexes = nodes
        .flatMap((node) => node['Index Name'] ?? [])
        .filter((name) => name.startsWith('deliveries_'));
      expect(deliveriesIndexes).toEqual(['deliveries_pkey']);
      expect(nodes.filter((node) => node['Node Type'] === 'Seq Scan')).toEqual([]);
    }
  });
});
