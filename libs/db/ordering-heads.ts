import { Pool } from 'pg';
import { ENDED_DELIVERY_STATUSES } from '../contracts/delivery-status';
import { notStartedById } from './rows';

/**
 * Ordered delivery's state in Postgres: the head of each (subscription, ordering key) in `ordering_heads`, taken by
 * the outbox claim that admits a delivery and deleted by the statement that records its end. A delivery carries an
 * ordering key only when its subscription ordered per entity at publish; a redrive is never ordered.
 */

/** The statuses after which a delivery sends nothing more, as an SQL list. */
export const ENDED_STATUSES = `(${ENDED_DELIVERY_STATUSES.map((status) => `'${status}'`).join(', ')})`;

/**
 * The one unstarted delivery per (subscription, key) that may be claimed now: the key's head when its claim lapsed
 * (its relay died, or Temporal refused the start), else the oldest, unless another delivery of the key heads it and
 * has not ended. A head whose delivery ended (or is gone) blocks nothing: whatever ended it, the key goes on.
 */
const KEY_TURNS = `SELECT DISTINCT ON (d.subscription_id, d.ordering_key) d.id
    FROM deliveries d
    LEFT JOIN ordering_heads h ON h.subscription_id = d.subscription_id AND h.ordering_key = d.ordering_key
    LEFT JOIN deliveries hd ON hd.id = h.delivery_id
   WHERE d.workflow_started_at IS NULL AND d.ordering_key IS NOT NULL AND d.status = 'pending' AND d.redrive_count = 0
     AND (h.delivery_id IS NULL OR h.delivery_id = d.id OR hd.id IS NULL OR hd.status IN ${ENDED_STATUSES})
   ORDER BY d.subscription_id, d.ordering_key, d.created_at, d.id`;

/**
 * The outbox claim's ordering, as pieces that leave its admission alone: `keyTurnsCte` first among its CTEs,
 * `admits` in the outbox's WHERE (deliveries unaliased) and `ordered` among its columns, `takeHeadsCtes` after the
 * admitted candidates (`candidates`: id, ordered), defining `heads_taken`. A delivery without a key passes on its
 * first test, so an unordered outbox never reads `key_turns` at all.
 */
export const OUTBOX_ORDERING = {
  keyTurnsCte: `key_turns AS (${KEY_TURNS})`,
  admits: `(ordering_key IS NULL OR redrive_count > 0 OR id IN (SELECT id FROM key_turns))`,
  ordered: `ordering_key IS NOT NULL AND redrive_count = 0`,
  /**
   * Locks the ordered candidates and checks them again at their latest version, so a head is taken only for a row
   * this claim then marks; the head's primary key lets one delivery of a key in, whatever other relays claim.
   */
  takeHeadsCtes: `ordered_locked AS MATERIALIZED (
         SELECT d.id, d.subscription_id, d.ordering_key FROM deliveries d
          WHERE d.id IN (SELECT id FROM candidates WHERE ordered)
            AND ${notStartedById('d')} AND d.status = 'pending'
            AND (d.start_claimed_until IS NULL OR d.start_claimed_until < now())
          ORDER BY d.id FOR UPDATE OF d
       ), heads_taken AS (
         INSERT INTO ordering_heads AS h (subscription_id, ordering_key, delivery_id)
         SELECT subscription_id, ordering_key, id FROM ordered_locked
         ON CONFLICT (subscription_id, ordering_key) DO UPDATE SET delivery_id = EXCLUDED.delivery_id,
           since = CASE WHEN h.delivery_id = EXCLUDED.delivery_id THEN h.since ELSE EXCLUDED.since END
         WHERE h.delivery_id = EXCLUDED.delivery_id
            OR NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.id = h.delivery_id AND x.status NOT IN ${ENDED_STATUSES})
         RETURNING h.delivery_id
       )`,
};

/**
 * A CTE for the statement that records delivery $1's status `status` (an SQL expression): it releases the key the
 * delivery heads when that status ends it. `key_released` then holds one row when a key was released.
 */
export const releaseKeyCte = (status: string) =>
  `key_released AS (DELETE FROM ordering_heads WHERE delivery_id = $1::text AND ${status} IN ${ENDED_STATUSES} RETURNING 1)`;

/** A key of an ordered subscription whose next deliveries wait for its head to end. */
export interface BlockedKey {
  ordering_key: string;
  /** The delivery the key waits for. */
  head_delivery_id: string;
  head_status: string;
  /** When the head was let start. */
  since: Date;
  /** Deliveries of the key waiting behind the head. */
  waiting: number;
}

export class OrderingHeadsRepository {
  constructor(private readonly pool: Pool) {}

  /** Up to `limit` keys of one subscription with deliveries waiting behind their head, longest blocked first. */
  async blockedKeys(subscriptionId: string, limit: number): Promise<{ keys: BlockedKey[]; more: boolean }> {
    const { rows } = await this.pool.query<BlockedKey>(
      `SELECT h.ordering_key, h.delivery_id AS head_delivery_id, hd.status AS head_status, h.since, w.waiting
         FROM ordering_heads h
         JOIN deliveries hd ON hd.id = h.delivery_id
         CROSS JOIN LATERAL (
           SELECT count(*)::int AS waiting FROM deliveries d
            WHERE d.subscription_id = h.subscription_id AND d.ordering_key = h.ordering_key
              AND d.workflow_started_at IS NULL AND d.status = 'pending' AND d.id <> h.delivery_id
         ) w
        WHERE h.subscription_id = $1::text AND w.waiting > 0
        ORDER BY h.since, h.ordering_key LIMIT $2::int`,
      [subscriptionId, limit + 1],
    );
    return { keys: rows.slice(0, limit), more: rows.length > limit };
  }
}
