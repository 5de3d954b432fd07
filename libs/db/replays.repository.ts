import { Pool } from 'pg';
import { ACTIVE_DELIVERY_STATUSES, DeliveryStatus } from '../contracts/delivery-status';
import { deliveryWorkflowId, newDeliveryId } from '../contracts/ids';
import { ReplayFilter } from './bulk-redrives.repository';
import { RedriveClaim } from './outbox.repository';
import { Db, withTransaction } from './pool';
import { RelayWakeup } from './relay-wakeup';

/** An event in a replay's window, with the subscription's delivery of it if it has one. */
export interface ReplayCandidate {
  event_id: string;
  event_type: string;
  occurred_at: Date;
  delivery_id: string | null;
  delivery_status: DeliveryStatus | null;
}

/** What a replay did with one event's delivery. */
export type ReplayTake =
  | { kind: 'claimed'; claim: RedriveClaim }
  /** The subscription had no delivery of it: one was created, which the outbox relay starts. */
  | { kind: 'created' }
  /** An earlier try of the same batch already took it (its worker died before recording the batch). */
  | { kind: 'taken' }
  /** Its delivery is still on its way (not ended): nothing to resend. */
  | { kind: 'active' };

/** How a replay's deliveries stand now. */
export interface ReplayOutcomes {
  delivered: number;
  failed: number;
  pending: number;
}

/** The events a replay walks, and the deliveries it took (replay_deliveries), one transaction per event. */
export class ReplaysRepository {
  private readonly relayWakeup: RelayWakeup;

  constructor(private readonly pool: Pool) {
    this.relayWakeup = new RelayWakeup(pool);
  }

  /**
   * The next events of the subscription's tenant in the window, after (lastAt, lastId), received before the job
   * began (so it ends), each with the subscription's delivery of it.
   */
  async candidates(
    filter: ReplayFilter,
    tenantId: string,
    cutoff: Date,
    after: { lastAt: Date | null; lastId: string | null },
    limit: number,
  ): Promise<ReplayCandidate[]> {
    const { rows } = await this.pool.query<ReplayCandidate>(
      `SELECT e.id AS event_id, e.event_type, e.occurred_at, d.id AS delivery_id, d.status AS delivery_status
         FROM events e LEFT JOIN deliveries d ON d.event_id = e.id AND d.subscription_id = $2::text
        WHERE e.tenant_id = $1::text AND e.occurred_at >= $3::timestamptz AND e.occurred_at < $4::timestamptz
          AND e.received_at <= $5::timestamptz
          AND ($6::timestamptz IS NULL OR (e.occurred_at, e.id) > ($6::timestamptz, $7::text))
        ORDER BY e.occurred_at, e.id LIMIT $8::int`,
      [tenantId, filter.subscription_id, filter.from, filter.to, cutoff, after.lastAt, after.lastId ?? '', limit],
    );
    return rows;
  }

  /**
   * Takes one event for the replay in one transaction: the replay's row for the delivery and either the claim of
   * its ended delivery (`claim`, on the transaction) or, when the subscription has none, a new delivery in the
   * outbox. A new delivery starts like a redrive (redrive_count 1), so its TTL window counts from its start rather
   * than from an event that may be days old.
   */
  async take(
    replayId: string,
    candidate: ReplayCandidate,
    subscription: { id: string; tenant_id: string },
    claim: (db: Db) => Promise<RedriveClaim | undefined>,
  ): Promise<ReplayTake> {
    const take = await withTransaction(this.pool, async (client): Promise<ReplayTake> => {
      let deliveryId = candidate.delivery_id;
      if (deliveryId === null) {
        const { rows } = await client.query<{ id: string }>(
          `INSERT INTO deliveries (id, event_id, subscription_id, tenant_id, event_type, workflow_id, redrive_count)
           VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, 1)
           ON CONFLICT (event_id, subscription_id) DO NOTHING RETURNING id`,
          [
            newDeliveryId(),
            candidate.event_id,
            subscription.id,
            subscription.tenant_id,
            candidate.event_type,
            deliveryWorkflowId(candidate.event_id, subscription.id),
          ],
        );
        // A publish or another job made it meanwhile: it is on its way.
        if (rows[0] === undefined) return { kind: 'active' };
        deliveryId = rows[0].id;
      }
      const { rowCount } = await client.query(
        `INSERT INTO replay_deliveries (replay_id, delivery_id) VALUES ($1::text, $2::text) ON CONFLICT DO NOTHING`,
        [replayId, deliveryId],
      );
      if (rowCount === 0) return { kind: 'taken' };
      if (candidate.delivery_id === null) return { kind: 'created' };
      const claimed = await claim(client);
      if (claimed === undefined) throw new NotEnded();
      return { kind: 'claimed', claim: claimed };
    }).catch((error: unknown) => {
      // Rolled back: the replay's row goes with the claim it could not make.
      if (error instanceof NotEnded) return { kind: 'active' } as const;
      throw error;
    });
    if (take.kind === 'created') this.relayWakeup.deliveriesCommitted();
    return take;
  }

  /** The run Temporal refused: the delivery was put back as it was, and counts as failed for the replay. */
  async refused(replayId: string, deliveryId: string): Promise<void> {
    await this.pool.query(
      `UPDATE replay_deliveries SET refused = true WHERE replay_id = $1::text AND delivery_id = $2::text`,
      [replayId, deliveryId],
    );
  }

  /** A run whose start failed and was put back: the replay lets go of it, so its batch's next try takes it again. */
  async release(replayId: string, deliveryId: string): Promise<void> {
    await this.pool.query(`DELETE FROM replay_deliveries WHERE replay_id = $1::text AND delivery_id = $2::text`, [
      replayId,
      deliveryId,
    ]);
  }

  /** How the replay's deliveries stand now: delivered, failed (ended otherwise, or refused), still pending. */
  async outcomes(replayId: string): Promise<ReplayOutcomes> {
    const { rows } = await this.pool.query<ReplayOutcomes>(
      `SELECT count(*) FILTER (WHERE NOT r.refused AND d.status = 'delivered')::int AS delivered,
              count(*) FILTER (WHERE r.refused OR d.status IN ('dead_lettered', 'cancelled'))::int AS failed,
              count(*) FILTER (WHERE NOT r.refused AND d.status = ANY($2::text[]))::int AS pending
         FROM replay_deliveries r JOIN deliveries d ON d.id = r.delivery_id
        WHERE r.replay_id = $1::text`,
      [replayId, ACTIVE_DELIVERY_STATUSES],
    );
    return rows[0];
  }
}

/** The delivery was not ended when claimed (a run of it is on its way): the take rolls back. */
class NotEnded extends Error {}
