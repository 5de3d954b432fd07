import { Pool } from 'pg';

/** What a run of publishes left: the ids the API accepted, and the event ids and tenants of the ones it refused. */
export interface PublishOutcomes {
  acceptedEventIds: ReadonlySet<string>;
  rejectedEventIds: Iterable<string>;
  rejectedTenants: Iterable<string>;
}

/**
 * Whatever a refused request named, the only events stored are ones the API accepted (a tenant or id can appear in
 * both a refused and an accepted request, e.g. a 409 replay of an accepted event), and every accepted one is stored.
 */
export async function expectOnlyAcceptedEventsStored(pool: Pool, outcomes: PublishOutcomes): Promise<void> {
  const named = await pool.query<{ id: string; tenant_id: string }>(
    'SELECT id, tenant_id FROM events WHERE id = ANY($1::text[]) OR tenant_id = ANY($2::text[])',
    [[...outcomes.rejectedEventIds], [...outcomes.rejectedTenants]],
  );
  expect(named.rows.filter((row) => !outcomes.acceptedEventIds.has(row.id))).toEqual([]);
  const accepted = [...outcomes.acceptedEventIds];
  const stored = await pool.query<{ id: string }>('SELECT id FROM events WHERE id = ANY($1::text[])', [accepted]);
  expect(stored.rows.map((r) => r.id).sort()).toEqual(accepted.sort());
}

/**
 * Each stored event holds the envelope as it was sent (by event id). Numbers travel as in JSON (through a gRPC Struct
 * every number is a double), so the actor and data are compared with the JSON round trip of what was sent.
 */
export async function expectEventsStoredAsSent(
  pool: Pool,
  storedAsSent: ReadonlyMap<string, Record<string, unknown>>,
): Promise<void> {
  const rows = await pool.query<{
    id: string;
    tenant_id: string;
    tenant_slug: string | null;
    event_type: string;
    occurred_at: Date;
    actor: unknown;
    data: unknown;
  }>('SELECT id, tenant_id, tenant_slug, event_type, occurred_at, actor, data FROM events WHERE id = ANY($1::text[])', [
    [...storedAsSent.keys()],
  ]);
  expect(rows.rowCount).toBe(storedAsSent.size);
  const asJson = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;
  for (const row of rows.rows) {
    const sent = storedAsSent.get(row.id) as {
      event_type: string;
      tenant: { id: string; slug?: string };
      occurred_at?: string;
      actor?: unknown;
      data: unknown;
    };
    expect({
      tenant_id: row.tenant_id,
      tenant_slug: row.tenant_slug,
      event_type: row.event_type,
      actor: row.actor,
      data: row.data,
    }).toEqual({
      tenant_id: sent.tenant.id,
      tenant_slug: sent.tenant.slug ?? null,
      event_type: sent.event_type,
      actor: sent.actor === undefined ? null : asJson(sent.actor),
      data: asJson(sent.data),
    });
    if (sent.occurred_at) expect(row.occurred_at.toISOString()).toBe(new Date(sent.occurred_at).toISOString());
  }
}
