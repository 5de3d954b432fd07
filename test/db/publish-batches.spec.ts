import { Pool, QueryConfig } from 'pg';
import { StoredEvent } from '../../libs/contracts/envelope';
import { newEventId } from '../../libs/contracts/ids';
import { EventsRepository } from '../../libs/db/events.repository';
import { SubscriptionsRepository } from '../../libs/db/subscriptions.repository';
import { SecretBox } from '../../libs/secrets/secret-box';
import { newSubscriptionRow, testMasterKeys, testPool, uniqueTenant } from '../helpers/database';

/**
 * Publishes that reach one EventsRepository at the same time share publish statements: each must still get exactly
 * its own event and deliveries, as if it had been published alone.
 */
describe('publishes at the same time', () => {
  let pool: Pool;
  let subscriptions: SubscriptionsRepository;
  /** Publish statements run, and how many events each carried. */
  let statements: number[];

  beforeAll(() => {
    pool = testPool();
    subscriptions = new SubscriptionsRepository(pool, SecretBox.parse(testMasterKeys()));
    const query = pool.query.bind(pool) as (config: QueryConfig) => Promise<unknown>;
    pool.query = ((config: QueryConfig, ...rest: unknown[]) => {
      if (typeof config === 'object' && config.name === 'publish-events') {
        statements.push((config.values?.[0] as string[]).length);
      }
      return (query as (...args: unknown[]) => Promise<unknown>)(config, ...rest);
    }) as typeof pool.query;
  });

  afterAll(() => pool.end());

  beforeEach(() => (statements = []));

  const eventOf = (tenantId: string, fields: Partial<StoredEvent> = {}): StoredEvent => ({
    event_id: newEventId(),
    event_type: 'user.updated',
    occurred_at: new Date().toISOString(),
    tenant: { id: tenantId },
    data: { user: { id: 'usr_1' } },
    ...fields,
  });

  async function subscribe(tenantId: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let index = 0; index < count; index++) ids.push((await subscriptions.create(newSubscriptionRow(tenantId))).id);
    return ids.sort();
  }

  it('stores each event with its own deliveries, wider fan-outs than the ids drawn first included', async () => {
    const narrow = uniqueTenant();
    const wide = uniqueTenant();
    const none = uniqueTenant();
    const narrowSubscriptions = await subscribe(narrow, 2);
    const wideSubscriptions = await subscribe(wide, 6);
    const events = new EventsRepository(pool);
    const published = Array.from({ length: 30 }, (_, index) =>
      eventOf([narrow, wide, none][index % 3], { data: { user: { id: `usr_${index}` } } }),
    );

    const outcomes = await Promise.all(published.map((event) => events.publish(event, `hash ${event.event_id}`)));

    expect(statements.length).toBeLessThan(published.length);
    expect(Math.max(...statements)).toBeGreaterThan(1);
    const expected = { [narrow]: narrowSubscriptions, [wide]: wideSubscriptions, [none]: [] as string[] };
    for (const [index, outcome] of outcomes.entries()) {
      const event = published[index];
      expect(outcome.kind).toBe('created');
      if (outcome.kind !== 'created') continue;
      expect(outcome.deliveries.map((delivery) => delivery.subscription_id)).toEqual(expected[event.tenant.id]);
      const { rows } = await pool.query<{ id: string; subscription_id: string; event_id: string }>(
        `SELECT id, subscription_id, event_id FROM deliveries WHERE event_id = $1::text ORDER BY subscription_id`,
        [event.event_id],
      );
      expect(rows).toEqual(outcome.deliveries.map((delivery) => ({ ...delivery, event_id: event.event_id })));
      const stored = await pool.query<{ data: unknown; content_hash: string }>(
        `SELECT data, content_hash FROM events WHERE id = $1::text`,
        [event.event_id],
      );
      expect(stored.rows).toEqual([{ data: event.data, content_hash: `hash ${event.event_id}` }]);
    }
    const ids = outcomes.flatMap((outcome) => (outcome.kind === 'created' ? outcome.deliveries : [])).map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('answers the second of two publishes of one event_id as a replay (same content) or a conflict (other content)', async () => {
    const tenantId = uniqueTenant();
    const [subscriptionId] = await subscribe(tenantId, 1);
    const events = new EventsRepository(pool);
    const event = eventOf(tenantId);
    const other = eventOf(tenantId);

    const [one, two, conflicting, otherFirst] = await Promise.all([
      events.publish(event, 'hash a'),
      events.publish(event, 'hash a'),
      events.publish(event, 'hash b'),
      events.publish(other, 'hash other'),
    ]);

    // The two same publishes run at the same time: either may be first, and the other answers what it stored.
    const kinds = [one.kind, two.kind].sort();
    expect(kinds).toEqual(['created', 'replayed']);
    const delivered = { deliveries: [{ id: expect.any(String), subscription_id: subscriptionId }] };
    expect(one).toMatchObject(delivered);
    expect(two).toEqual({ ...one, kind: two.kind });
    expect(conflicting).toEqual({ kind: 'conflict' });
    expect(otherFirst.kind).toBe('created');
    const { rows } = await pool.query(`SELECT id FROM deliveries WHERE event_id = $1::text`, [event.event_id]);
    expect(rows).toHaveLength(1);
  });

  it('refuses only the publish Postgres refuses; the others of its statement are stored', async () => {
    const tenantId = uniqueTenant();
    await subscribe(tenantId, 1);
    const events = new EventsRepository(pool);
    const published = Array.from({ length: 12 }, (_, index) =>
      eventOf(tenantId, index === 5 ? { occurred_at: 'not a time' } : {}),
    );

    const outcomes = await Promise.allSettled(published.map((event) => events.publish(event, 'hash')));

    expect(outcomes.map((outcome) => outcome.status)).toEqual(
      published.map((_, index) => (index === 5 ? 'rejected' : 'fulfilled')),
    );
    expect(Math.max(...statements)).toBeGreaterThan(1);
    const { rows } = await pool.query<{ id: string }>(`SELECT id FROM events WHERE id = ANY($1::text[])`, [
      published.map((event) => event.event_id),
    ]);
    expect(rows.map((row) => row.id).sort()).toEqual(
      published
        .filter((_, index) => index !== 5)
        .map((event) => event.event_id)
        .sort(),
    );
  });
});
