import { Pool, PoolClient } from 'pg';
import { filterEntriesMatching } from '../contracts/catalogue';
import { StoredEvent } from '../contracts/envelope';
import { deliveryWorkflowId, newDeliveryId } from '../contracts/ids';
import { withTransaction } from './pool';
import type { TenantScope } from './subscriptions.repository';

/** A delivery row that still needs (or had) its workflow started: everything the workflow input carries. */
export interface DeliveryToStart {
  id: string;
  event_id: string;
  subscription_id: string;
  tenant_id: string;
  event_type: string;
  workflow_id: string;
  occurred_at: Date;
}

export type PublishOutcome =
  | { kind: 'created'; deliveries: DeliveryToStart[] }
  | { kind: 'replayed'; deliveries: DeliveryToStart[] }
  | { kind: 'conflict' };

export interface EventRecord {
  event: StoredEvent;
  received_at: Date;
}

export class EventsRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Stores the event and one delivery per matching enabled subscription in one transaction. A second
   * publish of the same event_id waits on the first one's row lock, then reads what it committed.
   */
  async publish(event: StoredEvent, contentHash: string): Promise<PublishOutcome> {
    return withTransaction(this.pool, async (client) => {
      const inserted = await client.query(
        `INSERT INTO events (id, tenant_id, tenant_slug, event_type, occurred_at, actor, data, content_hash)
         VALUES ($1::text, $2::text, $3::text, $4::text, $5::timestamptz, $6::json, $7::json, $8::text)
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [
          event.event_id,
          event.tenant.id,
          event.tenant.slug ?? null,
          event.event_type,
          event.occurred_at,
          event.actor === undefined ? null : JSON.stringify(event.actor),
          JSON.stringify(event.data),
          contentHash,
        ],
      );
      if (inserted.rowCount === 0) {
        const existing = await client.query<{ content_hash: string }>(`SELECT content_hash FROM events WHERE id = $1::text`, [event.event_id]);
        if (existing.rows[0]?.content_hash !== contentHash) return { kind: 'conflict' };
        return { kind: 'replayed', deliveries: await this.deliveriesOf(client, event.event_id) };
      }
      const matching = await client.query<{ id: string }>(
        `SELECT id FROM subscriptions
          WHERE tenant_id = $1::text AND enabled AND deleted_at IS NULL AND event_types && $2::text[]
          ORDER BY id`,
        [event.tenant.id, filterEntriesMatching(event.event_type)],
      );
      if (matching.rows.length === 0) return { kind: 'created', deliveries: [] };
      const subscriptionIds = matching.rows.map((row) => row.id);
      const deliveryIds = subscriptionIds.map(() => newDeliveryId());
      const workflowIds = subscriptionIds.map((subscriptionId) => deliveryWorkflowId(event.event_id, subscriptionId));
      const { rows } = await client.query<DeliveryToStart>(
        `INSERT INTO deliveries (id, event_id, subscription_id, tenant_id, event_type, workflow_id)
         SELECT d.id, $1::text, d.subscription_id, $2::text, $3::text, d.workflow_id
           FROM unnest($4::text[], $5::text[], $6::text[]) AS d (id, subscription_id, workflow_id)
         RETURNING id, event_id, subscription_id, tenant_id, event_type, workflow_id, $7::timestamptz AS occurred_at`,
        [event.event_id, event.tenant.id, event.event_type, deliveryIds, subscriptionIds, workflowIds, event.occurred_at],
      );
      return { kind: 'created', deliveries: rows };
    });
  }

  private async deliveriesOf(client: PoolClient, eventId: string): Promise<DeliveryToStart[]> {
    const { rows } = await client.query<DeliveryToStart>(
      `SELECT d.id, d.event_id, d.subscription_id, d.tenant_id, d.event_type, d.workflow_id, e.occurred_at
         FROM deliveries d JOIN events e ON e.id = d.event_id
        WHERE d.event_id = $1::text ORDER BY d.subscription_id`,
      [eventId],
    );
    return rows;
  }

  async get(eventId: string, scope: TenantScope): Promise<EventRecord | undefined> {
    const { rows } = await this.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE id = $1::text AND ($2::text IS NULL OR tenant_id = $2::text)`,
      [eventId, scope ?? null],
    );
    return rows[0] && toEventRecord(rows[0]);
  }
}

interface EventRow {
  id: string;
  tenant_id: string;
  tenant_slug: string | null;
  event_type: StoredEvent['event_type'];
  occurred_at: Date;
  actor: StoredEvent['actor'] | null;
  data: StoredEvent['data'];
  received_at: Date;
}

export const EVENT_COLUMNS = 'id, tenant_id, tenant_slug, event_type, occurred_at, actor, data, received_at';

export function toStoredEvent(row: Omit<EventRow, 'received_at'>): StoredEvent {
  const event: StoredEvent = {
    event_id: row.id,
    event_type: row.event_type,
    occurred_at: row.occurred_at.toISOString(),
    tenant: row.tenant_slug === null ? { id: row.tenant_id } : { id: row.tenant_id, slug: row.tenant_slug },
    data: row.data,
  };
  if (row.actor !== null) event.actor = row.actor;
  return event;
}

function toEventRecord(row: EventRow): EventRecord {
  return { event: toStoredEvent(row), received_at: row.received_at };
}
