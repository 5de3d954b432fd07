import { Pool } from 'pg';
import { Db } from './pool';
import { DELIVERY_TO_START_COLUMNS, DeliveryToStart, TenantScope } from './rows';

/** How long a claim to start a row's run holds: a claimer that died (relay or redriver) is taken over after it. */
export const START_CLAIM_LEASE_MS = 30_000;

/** An outbox row: a first run to start, or (redrive_count > 0) a redrive whose redriver died before its start. */
export type ClaimedDelivery = DeliveryToStart & { attempt_count: number; redrive_count: number };

/** ClaimedDelivery's columns, from deliveries `d` joined to their events `e`. */
const CLAIMED_COLUMNS = `${DELIVERY_TO_START_COLUMNS}, d.attempt_count, d.redrive_count`;

/** A row the relay claimed, with the publish's W3C traceparent for a first run that was traced (a redrive has its own trace). */
export type OutboxRow = ClaimedDelivery & { trace_parent: string | null };

/**
 * The outbox: delivery rows whose run Temporal does not have yet (`workflow_started_at IS NULL`): committed by a
 * publish, or claimed by a redrive. Relays claim rows for a lease, start their runs, then mark them started; a
 * redriver claims its dead letter the same way, and a relay takes the row over if the redriver dies before its start.
 */
export class OutboxRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Claims up to `limit` unstarted rows, oldest first, for `leaseMs`: rows another relay holds are skipped (SKIP
   * LOCKED, then the lease), and a claim whose relay died is taken again once its lease has passed.
   */
  async claim(limit: number, leaseMs: number): Promise<OutboxRow[]> {
    const { rows } = await this.pool.query<OutboxRow>(
      `WITH claimed AS (
         UPDATE deliveries d SET start_claimed_until = now() + make_interval(secs => $2::int / 1000.0)
           FROM events e
          WHERE e.id = d.event_id
            AND d.id IN (SELECT id FROM deliveries
                          -- Pending only: a row whose run started (and moved on) before it was marked needs no start.
                          WHERE workflow_started_at IS NULL AND status = 'pending'
                            AND (start_claimed_until IS NULL OR start_claimed_until < now())
                          ORDER BY created_at LIMIT $1::int FOR UPDATE SKIP LOCKED)
          RETURNING ${CLAIMED_COLUMNS}, CASE WHEN d.redrive_count = 0 THEN e.trace_parent END AS trace_parent, d.created_at
       )
       -- In publish order, so starts follow it as far as concurrent starts allow.
       SELECT id, event_id, subscription_id, tenant_id, event_type, workflow_id, occurred_at, attempt_count, redrive_count, trace_parent FROM claimed
        ORDER BY created_at`,
      [limit, leaseMs],
    );
    return rows;
  }

  async markStarted(deliveryIds: string[]): Promise<void> {
    if (deliveryIds.length === 0) return;
    await this.pool.query(
      `UPDATE deliveries SET workflow_started_at = now(), start_claimed_until = NULL
        WHERE id = ANY($1::text[]) AND workflow_started_at IS NULL`,
      [deliveryIds],
    );
  }

  /** Gives claimed rows back at once (their start failed), so the next relay pass retries them without waiting out the lease. */
  async release(deliveryIds: string[]): Promise<void> {
    if (deliveryIds.length === 0) return;
    await this.pool.query(
      `UPDATE deliveries SET start_claimed_until = NULL WHERE id = ANY($1::text[]) AND workflow_started_at IS NULL`,
      [deliveryIds],
    );
  }

  /**
   * Claims a dead letter for a new workflow run (status pending, reason kept until the next attempt); undefined
   * when it is not, or no longer, dead-lettered, so two concurrent redrives cannot both start a run. The row goes
   * back into the outbox under this claim's lease: if the redriver dies before its start, a relay starts the run.
   */
  async claimRedrive(deliveryId: string, scope: TenantScope, db: Db = this.pool): Promise<ClaimedDelivery | undefined> {
    const { rows } = await db.query<ClaimedDelivery>(
      `UPDATE deliveries d SET status = 'pending', next_attempt_at = NULL, redrive_count = redrive_count + 1, updated_at = now(),
              workflow_started_at = NULL, start_claimed_until = now() + make_interval(secs => $3::int / 1000.0)
         FROM events e
        WHERE d.id = $1::text AND d.status = 'dead_lettered' AND e.id = d.event_id AND ($2::text IS NULL OR d.tenant_id = $2::text)
        RETURNING ${CLAIMED_COLUMNS}`,
      [deliveryId, scope ?? null, START_CLAIM_LEASE_MS],
    );
    return rows[0];
  }

  /** Puts a claimed redrive back when Temporal refused the new run (unless a relay started one meanwhile). */
  async abortRedrive(deliveryId: string): Promise<void> {
    await this.pool.query(
      `UPDATE deliveries SET status = 'dead_lettered', redrive_count = redrive_count - 1, updated_at = now(),
              workflow_started_at = now(), start_claimed_until = NULL
        WHERE id = $1::text AND status = 'pending' AND workflow_started_at IS NULL`,
      [deliveryId],
    );
  }
}
