import { Pool } from 'pg';
import { DeliveryToStart } from './events.repository';

/** The channel every committed batch of deliveries notifies (a trigger on deliveries; see the migrations). */
export const DELIVERIES_COMMITTED_CHANNEL = 'deliveries_committed';

/**
 * The outbox: delivery rows committed by a publish whose workflow Temporal does not have yet
 * (`workflow_started_at IS NULL`). Relays claim rows for a lease, start their workflows, then mark them started.
 */
export class OutboxRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Claims up to `limit` unstarted rows, oldest first, for `leaseMs`: rows another relay holds are skipped (SKIP
   * LOCKED, then the lease), and a claim whose relay died is taken again once its lease has passed.
   */
  async claim(limit: number, leaseMs: number): Promise<DeliveryToStart[]> {
    const { rows } = await this.pool.query<DeliveryToStart>(
      `WITH claimed AS (
         UPDATE deliveries d SET start_claimed_until = now() + make_interval(secs => $2::int / 1000.0)
           FROM events e
          WHERE e.id = d.event_id
            AND d.id IN (SELECT id FROM deliveries
                          WHERE workflow_started_at IS NULL AND (start_claimed_until IS NULL OR start_claimed_until < now())
                          ORDER BY created_at LIMIT $1::int FOR UPDATE SKIP LOCKED)
          RETURNING d.id, d.event_id, d.subscription_id, d.tenant_id, d.event_type, d.workflow_id, e.occurred_at, d.created_at
       )
       -- In publish order, so starts follow it as far as concurrent starts allow.
       SELECT id, event_id, subscription_id, tenant_id, event_type, workflow_id, occurred_at FROM claimed ORDER BY created_at`,
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
    await this.pool.query(`UPDATE deliveries SET start_claimed_until = NULL WHERE id = ANY($1::text[]) AND workflow_started_at IS NULL`, [deliveryIds]);
  }
}
