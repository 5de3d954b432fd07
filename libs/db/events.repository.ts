import { Pool } from 'pg';
import { filterEntriesMatching } from '../contracts/catalogue';
import { StoredEvent } from '../contracts/envelope';
import { deliveryWorkflowIdPrefix, newDeliveryId } from '../contracts/ids';
import { activeTraceParent } from '../observability/trace-context';
import { PublishQueue } from './publish-queue';
import { RelayWakeup } from './relay-wakeup';
import { EVENT_COLUMNS, EventRow, TenantScope, toStoredEvent } from './rows';

/** A delivery as the publish answer names it. */
export interface PublishedDelivery {
  id: string;
  subscription_id: string;
}

export type PublishOutcome =
  | { kind: 'created'; deliveries: PublishedDelivery[] }
  | { kind: 'replayed'; deliveries: PublishedDelivery[] }
  | { kind: 'conflict' };

export interface EventRecord {
  event: StoredEvent;
  /** Stored beside the envelope, never in it (null: the event has none). */
  ordering_key: string | null;
  received_at: Date;
}

/**
 * Whose subscriptions an event goes to: an ordinary event to its own tenant's; an operational event also to the
 * platform tenant's, and never to the subscription it is about. Each delivery belongs to its subscription's tenant.
 */
export interface EventRouting {
  tenants: string[];
  excludedSubscription: string | null;
}

/** Delivery ids drawn for a publish before knowing how many subscriptions match: most events fan out to a few. */
const TYPICAL_FAN_OUT = 4;

/**
 * Publish statements one api process runs at a time; publishes that arrive meanwhile go together in the next one
 * (libs/db/publish-queue.ts), at most MAX_PUBLISHES_PER_STATEMENT of them.
 */
const PUBLISH_STATEMENTS_IN_FLIGHT = 2;
const MAX_PUBLISHES_PER_STATEMENT = 64;

/** What one publish gives the publish statement. */
interface PublishRow {
  event: StoredEvent;
  contentHash: string;
  orderingKey: string | null;
  routing: EventRouting;
  /** The publish's span, so the relay starts the deliveries' runs in the same trace (null when not tracing). */
  traceParent: string | null;
  /** Delivery ids drawn for it. */
  idCount: number;
}

/** What the publish statement answers for one publish. */
interface StoredRow {
  /** false: more subscriptions matched than delivery ids were drawn; nothing of this publish was written. */
  fits: boolean;
  matching: number;
  created: boolean;
  deliveries: PublishedDelivery[];
}

/**
 * Events and their deliveries in one statement, for one publish or several (`n` numbers them, 1 onwards): each
 * event's delivery ids are $18[first_id + 1 .. first_id + id_count], its filter entries and routing tenants are the
 * pairs of ($14, $15) and ($16, $17) numbered n. A publish whose subscriptions outnumber its delivery ids writes
 * nothing and answers `fits` false; the others are written all the same.
 */
const PUBLISH_STATEMENT = `WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::json[], $7::json[],
                              $8::text[], $9::text[], $10::text[], $11::text[], $12::int[], $13::int[], $19::text[])
                  WITH ORDINALITY AS i(id, tenant_id, tenant_slug, event_type, occurred_at, actor, data, content_hash,
                                       trace_parent, ordering_key, excluded_subscription, first_id, id_count,
                                       workflow_id_prefix, n)
       ), filters AS (
         SELECT f.n, array_agg(f.entry) AS entries FROM unnest($14::int[], $15::text[]) AS f(n, entry) GROUP BY f.n
       ), matching AS (
         SELECT i.n, s.id, s.tenant_id, s.ordering, row_number() OVER (PARTITION BY i.n ORDER BY s.id)::int AS k
           FROM input i JOIN filters f ON f.n = i.n JOIN subscriptions s
             ON s.tenant_id IN (SELECT r.tenant_id FROM unnest($16::int[], $17::text[]) AS r(n, tenant_id) WHERE r.n = i.n)
            AND s.enabled AND s.deleted_at IS NULL AND s.event_types && f.entries
            AND s.id IS DISTINCT FROM i.excluded_subscription
       ), fits AS (
         SELECT i.n, count(m.id)::int AS matching, count(m.id) <= i.id_count AS ok
           FROM input i LEFT JOIN matching m ON m.n = i.n GROUP BY i.n, i.id_count
       ), event AS (
         INSERT INTO events (id, tenant_id, tenant_slug, event_type, occurred_at, actor, data, content_hash, trace_parent, ordering_key)
         SELECT i.id, i.tenant_id, i.tenant_slug, i.event_type, i.occurred_at, i.actor, i.data, i.content_hash, i.trace_parent, i.ordering_key
           FROM input i JOIN fits ON fits.n = i.n WHERE fits.ok
         ON CONFLICT (id) DO NOTHING RETURNING id
       ), delivery AS (
         INSERT INTO deliveries (id, event_id, subscription_id, tenant_id, event_type, workflow_id, ordering_key)
         SELECT ($18::text[])[i.first_id + m.k], i.id, m.id, m.tenant_id, i.event_type, i.workflow_id_prefix || m.id,
                CASE WHEN m.ordering = 'per_entity' THEN i.ordering_key END
           FROM event JOIN input i ON i.id = event.id JOIN matching m ON m.n = i.n
         RETURNING id, subscription_id, event_id
       )
       SELECT fits.ok AS fits, fits.matching,
              EXISTS (SELECT 1 FROM event JOIN input i ON i.id = event.id WHERE i.n = fits.n) AS created,
              COALESCE((SELECT json_agg(json_build_object('id', d.id, 'subscription_id', d.subscription_id) ORDER BY d.subscription_id)
                          FROM delivery d JOIN input i ON i.id = d.event_id WHERE i.n = fits.n), '[]') AS deliveries
         FROM fits ORDER BY fits.n`;

export class EventsRepository {
  private readonly relayWakeup: RelayWakeup;
  private readonly publishes: PublishQueue<PublishRow, StoredRow>;

  constructor(private readonly pool: Pool) {
    this.relayWakeup = new RelayWakeup(pool);
    this.publishes = new PublishQueue(
      (rows) => this.store(rows),
      (row) => row.event.event_id,
      PUBLISH_STATEMENTS_IN_FLIGHT,
      MAX_PUBLISHES_PER_STATEMENT,
    );
  }

  /**
   * Stores the event and one delivery per matching enabled subscription in one statement: atomic, and one round
   * trip, which is most of a publish's cost (shared with the publishes that arrive at the same time, under load).
   * A second publish of the same event_id waits on the first one's row lock, then reads what it committed. The
   * ordering key is stored with the event, and on the deliveries to subscriptions that order per entity (null: the
   * event is delivered unordered).
   */
  async publish(
    event: StoredEvent,
    contentHash: string,
    orderingKey: string | null = null,
    routing: EventRouting = { tenants: [event.tenant.id], excludedSubscription: null },
  ): Promise<PublishOutcome> {
    const traceParent = activeTraceParent();
    const stored = (idCount: number) =>
      this.publishes.submit({ event, contentHash, orderingKey, routing, traceParent, idCount });
    let result = await stored(TYPICAL_FAN_OUT);
    // More subscriptions matched than delivery ids were drawn for: nothing was written; again with enough ids.
    while (!result.fits) result = await stored(result.matching);
    if (result.created) {
      if (result.deliveries.length > 0) this.relayWakeup.deliveriesCommitted();
      return { kind: 'created', deliveries: result.deliveries };
    }
    const existing = await this.pool.query<{ content_hash: string }>(
      `SELECT content_hash FROM events WHERE id = $1::text`,
      [event.event_id],
    );
    if (existing.rows[0]?.content_hash !== contentHash) return { kind: 'conflict' };
    const { rows: deliveries } = await this.pool.query<PublishedDelivery>(
      `SELECT id, subscription_id FROM deliveries WHERE event_id = $1::text ORDER BY subscription_id`,
      [event.event_id],
    );
    return { kind: 'replayed', deliveries };
  }

  /** The publish statement for `rows`, with their delivery ids drawn here (ULIDs are made here, not in SQL). */
  private async store(rows: PublishRow[]): Promise<StoredRow[]> {
    const firstIds: number[] = [];
    let idsDrawn = 0;
    for (const row of rows) {
      firstIds.push(idsDrawn);
      idsDrawn += row.idCount;
    }
    const numbered = <T>(list: (row: PublishRow) => T[]) =>
      rows.flatMap((row, index) => list(row).map((value) => [index + 1, value] as const));
    const filters = numbered((row) => filterEntriesMatching(row.event.event_type));
    const routes = numbered((row) => row.routing.tenants);
    const { rows: stored } = await this.pool.query<StoredRow>({
      // Named, so each pooled connection parses and plans it once: parsing and planning it at every publish would
      // cost Postgres about as much CPU as running it.
      name: 'publish-events',
      text: PUBLISH_STATEMENT,
      values: [
        rows.map((row) => row.event.event_id),
        rows.map((row) => row.event.tenant.id),
        rows.map((row) => row.event.tenant.slug ?? null),
        rows.map((row) => row.event.event_type),
        rows.map((row) => row.event.occurred_at),
        rows.map((row) => (row.event.actor === undefined ? null : JSON.stringify(row.event.actor))),
        rows.map((row) => JSON.stringify(row.event.data)),
        rows.map((row) => row.contentHash),
        rows.map((row) => row.traceParent),
        rows.map((row) => row.orderingKey),
        rows.map((row) => row.routing.excludedSubscription),
        firstIds,
        rows.map((row) => row.idCount),
        filters.map(([n]) => n),
        filters.map(([, entry]) => entry),
        routes.map(([n]) => n),
        routes.map(([, tenant]) => tenant),
        Array.from({ length: idsDrawn }, newDeliveryId),
        rows.map((row) => deliveryWorkflowIdPrefix(row.event.event_id)),
      ],
    });
    return stored;
  }

  async get(eventId: string, scope: TenantScope): Promise<EventRecord | undefined> {
    const { rows } = await this.pool.query<EventRow & { ordering_key: string | null }>(
      `SELECT ${EVENT_COLUMNS}, ordering_key FROM events WHERE id = $1::text AND ($2::text IS NULL OR tenant_id = $2::text)`,
      [eventId, scope ?? null],
    );
    return rows[0] && toEventRecord(rows[0]);
  }
}

function toEventRecord(row: EventRow & { ordering_key: string | null }): EventRecord {
  return { event: toStoredEvent(row), ordering_key: row.ordering_key, received_at: row.received_at };
}
