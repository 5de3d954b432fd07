import { Pool } from 'pg';
import { filterEntriesMatching } from '../contracts/catalogue';
import { StoredEvent } from '../contracts/envelope';
import { deliveryWorkflowIdPrefix, newDeliveryId } from '../contracts/ids';
import { activeTraceParent } from '../observability/trace-context';
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
 * The event and its deliveries in one statement; `fits` is false, and nothing written, when more subscriptions match
 * than delivery ids were drawn ($10).
 */
const PUBLISH_STATEMENT = `WITH matching AS (
         SELECT id, tenant_id, ordering, row_number() OVER (ORDER BY id)::int AS n FROM subscriptions
          WHERE tenant_id = ANY($12::text[]) AND enabled AND deleted_at IS NULL AND event_types && $9::text[]
            AND id IS DISTINCT FROM $13::text
       ), fits AS (
         SELECT count(*)::int AS matching, count(*) <= cardinality($10::text[]) AS ok FROM matching
       ), event AS (
         INSERT INTO events (id, tenant_id, tenant_slug, event_type, occurred_at, actor, data, content_hash, trace_parent, ordering_key)
         SELECT $1::text, $2::text, $3::text, $4::text, $5::timestamptz, $6::json, $7::json, $8::text, $14::text, $15::text
           FROM fits WHERE fits.ok
         ON CONFLICT (id) DO NOTHING RETURNING id
       ), delivery AS (
         INSERT INTO deliveries (id, event_id, subscription_id, tenant_id, event_type, workflow_id, ordering_key)
         SELECT ($10::text[])[m.n], event.id, m.id, m.tenant_id, $4::text, $11::text || m.id,
                CASE WHEN m.ordering = 'per_entity' THEN $15::text END
           FROM event, matching m
         RETURNING id, subscription_id
       )
       SELECT fits.ok AS fits, fits.matching, EXISTS (SELECT 1 FROM event) AS created,
              COALESCE((SELECT json_agg(json_build_object('id', id, 'subscription_id', subscription_id) ORDER BY subscription_id)
                          FROM delivery), '[]') AS deliveries
         FROM fits`;

export class EventsRepository {
  private readonly relayWakeup: RelayWakeup;

  constructor(private readonly pool: Pool) {
    this.relayWakeup = new RelayWakeup(pool);
  }

  /**
   * Stores the event and one delivery per matching enabled subscription in one statement: atomic, and one round
   * trip, which is most of a publish's cost. A second publish of the same event_id waits on the first one's row
   * lock, then reads what it committed. The ordering key is stored with the event, and on the deliveries to
   * subscriptions that order per entity (null: the event is delivered unordered).
   */
  async publish(
    event: StoredEvent,
    contentHash: string,
    orderingKey: string | null = null,
    routing: EventRouting = { tenants: [event.tenant.id], excludedSubscription: null },
  ): Promise<PublishOutcome> {
    const stored = async (idCount: number) => this.store(event, contentHash, idCount, routing, orderingKey);
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

  /**
   * The publish statement, given `idCount` delivery ids drawn up front (ULIDs are made here, not in SQL): when more
   * subscriptions match than that, it writes nothing and answers `fits: false` with how many matched.
   */
  private async store(
    event: StoredEvent,
    contentHash: string,
    idCount: number,
    routing: EventRouting,
    orderingKey: string | null,
  ) {
    const { rows } = await this.pool.query<{
      fits: boolean;
      matching: number;
      created: boolean;
      deliveries: PublishedDelivery[];
    }>({
      // Named, so each pooled connection parses and plans it once: parsing and planning it at every publish would
      // cost Postgres about as much CPU as running it.
      name: 'publish-event',
      text: PUBLISH_STATEMENT,
      values: [
        event.event_id,
        event.tenant.id,
        event.tenant.slug ?? null,
        event.event_type,
        event.occurred_at,
        event.actor === undefined ? null : JSON.stringify(event.actor),
        JSON.stringify(event.data),
        contentHash,
        filterEntriesMatching(event.event_type),
        Array.from({ length: idCount }, newDeliveryId),
        deliveryWorkflowIdPrefix(event.event_id),
        routing.tenants,
        routing.excludedSubscription,
        // The publish's span, so the relay starts the deliveries' runs in the same trace (null when not tracing).
        activeTraceParent(),
        orderingKey,
      ],
    });
    return rows[0];
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
