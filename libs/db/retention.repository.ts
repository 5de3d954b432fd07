import { Pool } from 'pg';

/**
 * The retention purge: plain SQL in bounded batches (each statement deletes at most `limit` rows and holds their
 * locks only for itself). Only deliveries that have ended are ever deleted: `pending`, `attempting` and
 * `retry_scheduled` rows are never selected. Ages are counted on the database's clock.
 */
export class RetentionRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Deletes up to `limit` deliveries that ended `delivered` or `cancelled` more than `retentionMs` ago, or were
   * dead-lettered more than `deadLetterRetentionMs` ago, with their attempts, in one statement. 0 keeps that kind.
   * FOR UPDATE locks each chosen row (a redrive claiming the same dead letter waits, then finds it gone) and
   * SKIP LOCKED passes over rows another transaction is changing. Answers how many deliveries it deleted.
   */
  async purgeDeliveries(retentionMs: number, deadLetterRetentionMs: number, limit: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      `WITH doomed AS (
         SELECT id FROM deliveries
          WHERE ($1::bigint > 0 AND status IN ('delivered', 'cancelled') AND updated_at < now() - $1::bigint * interval '1 millisecond')
             OR ($2::bigint > 0 AND status = 'dead_lettered' AND dead_lettered_at < now() - $2::bigint * interval '1 millisecond')
          LIMIT $3::int
          FOR UPDATE SKIP LOCKED
       ), attempts AS (
         DELETE FROM delivery_attempts a USING doomed WHERE a.delivery_id = doomed.id
       )
       DELETE FROM deliveries d USING doomed WHERE d.id = doomed.id`,
      [retentionMs, deadLetterRetentionMs, limit],
    );
    return rowCount ?? 0;
  }

  /** Deletes up to `limit` events received more than `retentionMs` ago that no delivery refers to any more. */
  async purgeEvents(retentionMs: number, limit: number): Promise<number> {
    if (retentionMs <= 0) return 0;
    const { rowCount } = await this.pool.query(
      `DELETE FROM events e
        WHERE e.id IN (
                SELECT id FROM events
                 WHERE received_at < now() - $1::bigint * interval '1 millisecond'
                   AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)
                 LIMIT $2::int
                 FOR UPDATE SKIP LOCKED)
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)`,
      [retentionMs, limit],
    );
    return rowCount ?? 0;
  }
}
