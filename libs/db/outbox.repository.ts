import { Pool } from 'pg';
import { EndedDeliveryStatus } from '../contracts/delivery-status';
import { Db } from './pool';
import { SubscriptionLimits } from '../contracts/throttle-policy';
import { DELIVERY_TO_START_COLUMNS, DeliveryToStart, notStartedById, TenantScope } from './rows';
import { OUTBOX_ORDERING } from './ordering-heads';
import { limitsOf, NOW_MS } from './subscription-limiters';

/** How long a claim to start a row's run holds: a claimer that died (relay or redriver) is taken over after it. */
export const START_CLAIM_LEASE_MS = 30_000;

/** An outbox row: a first run to start, or (redrive_count > 0) a redrive whose redriver died before its start. */
export type ClaimedDelivery = DeliveryToStart & { attempt_count: number; redrive_count: number };

/** A claimed redrive or resend, with the status its row had, to put back when its run cannot start. */
export type RedriveClaim = ClaimedDelivery & { previous_status: EndedDeliveryStatus };

/** ClaimedDelivery's columns, from deliveries `d` joined to their events `e`. */
const CLAIMED_COLUMNS = `${DELIVERY_TO_START_COLUMNS}, d.attempt_count, d.redrive_count`;

/** A row the relay claimed, with the publish's W3C traceparent for a first run that was traced (a redrive has its own trace). */
export type OutboxRow = ClaimedDelivery & { trace_parent: string | null };

/** What a claim took, and whether it left rows waiting for room. */
export interface OutboxClaim {
  rows: OutboxRow[];
  /** Rows were left because their subscriptions had no room: a permit given back should wake the relay. */
  heldBack: boolean;
}

const LIMITS = limitsOf('$3', '$4');

/**
 * The outbox: delivery rows whose run Temporal does not have yet (`workflow_started_at IS NULL`): committed by a
 * publish, or claimed by a redrive. Relays claim rows for a lease, start their runs, then mark them started; a
 * redriver claims its dead letter the same way, and a relay takes the row over if the redriver dies before its start.
 */
export class OutboxRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Claims up to `limit` unstarted rows for `leaseMs`, admitting each only when its subscription's max_in_flight
   * has room for its first attempt: a limited subscription's admitted rows take their permits now (keyed by
   * delivery id, for the lease), which their first attempts then keep. The rest wait here, where waiting costs
   * nothing. max_per_second is left to the attempt: only its start is the moment the receiver sees. Rows another
   * relay holds are skipped (the lease), and a claim whose relay died is taken again once its lease has passed;
   * its permit lapses with it.
   *
   * Fair: the subscriptions take turns, each one's oldest row first, so one subscription's backlog never holds
   * back another's first attempts. Room is judged on the limiter rows locked (in subscription order, so relays never
   * deadlock) and read at their latest version: admission and attempts of every worker never overshoot a limit
   * together. A claim reads the oldest `limit` claimable rows of each subscription with rows waiting, not the whole
   * backlog: what a claim reads grows with the subscriptions that have rows waiting, not with the rows.
   *
   * Ordered: a delivery of a `per_entity` subscription is admitted only when no earlier delivery of its key is still
   * running, and takes its key's head with its claim (libs/db/ordering-heads.ts).
   */
  async claim(limit: number, leaseMs: number, defaults: SubscriptionLimits): Promise<OutboxClaim> {
    const { rows } = await this.pool.query<OutboxRow & { held_back: boolean }>({
      name: 'outbox-claim',
      text: `WITH RECURSIVE ${OUTBOX_ORDERING.keyTurnsCte}, outbox_subscriptions AS (
         -- The subscriptions with unstarted rows, one probe of the outbox index each (the last row is NULL).
         (SELECT subscription_id FROM deliveries WHERE workflow_started_at IS NULL ORDER BY subscription_id LIMIT 1)
         UNION ALL
         SELECT (SELECT d.subscription_id FROM deliveries d
                  WHERE d.workflow_started_at IS NULL AND d.subscription_id > s.subscription_id
                  ORDER BY d.subscription_id LIMIT 1)
           FROM outbox_subscriptions s WHERE s.subscription_id IS NOT NULL
       ), outbox AS (
         -- A claim takes at most $1 rows of a subscription, so its oldest $1 claimable rows are all it needs to read.
         SELECT o.id, o.subscription_id, o.created_at, o.ordered,
                row_number() OVER (PARTITION BY o.subscription_id ORDER BY o.created_at, o.id)::int AS turn
           FROM outbox_subscriptions s CROSS JOIN LATERAL (
             -- Pending only: a row whose run started (and moved on) before it was marked needs no start.
             SELECT id, subscription_id, created_at, ${OUTBOX_ORDERING.ordered} AS ordered
               FROM deliveries
              WHERE subscription_id = s.subscription_id AND workflow_started_at IS NULL AND status = 'pending'
                AND (start_claimed_until IS NULL OR start_claimed_until < now())
                AND ${OUTBOX_ORDERING.admits}
              ORDER BY created_at, id LIMIT $1::int
           ) o
          WHERE s.subscription_id IS NOT NULL
       ), waiting AS (
         SELECT o.subscription_id, ${LIMITS.inFlight} AS in_flight_limit, ${LIMITS.perSecond} AS per_second_limit,
                ${LIMITS.limited} AS limited
           FROM (SELECT DISTINCT subscription_id FROM outbox) o LEFT JOIN subscriptions s ON s.id = o.subscription_id
       ), locked AS MATERIALIZED (
         SELECT l.subscription_id, l.holders, l.next_start_at FROM subscription_limiters l
          WHERE l.subscription_id IN (SELECT subscription_id FROM waiting WHERE limited)
          ORDER BY l.subscription_id FOR UPDATE
       ), room AS (
         SELECT w.subscription_id, w.limited, w.in_flight_limit, w.per_second_limit, l.subscription_id IS NOT NULL AS has_limiter,
                live.holders AS live_holders,
                CASE WHEN NOT w.limited OR w.in_flight_limit = 0 THEN $1::int
                     ELSE GREATEST(w.in_flight_limit - live.held, 0) END AS admits
           FROM waiting w LEFT JOIN locked l ON l.subscription_id = w.subscription_id
          CROSS JOIN LATERAL (
            SELECT COALESCE(jsonb_object_agg(h.key, h.value), '{}'::jsonb) AS holders, count(*)::int AS held
              FROM jsonb_each(COALESCE(l.holders, '{}'::jsonb)) h WHERE h.value::bigint > ${NOW_MS}
          ) live
       ), candidates AS (
         SELECT o.id, o.subscription_id, o.ordered FROM outbox o JOIN room a ON a.subscription_id = o.subscription_id
          WHERE o.turn <= a.admits
          ORDER BY o.turn, o.created_at LIMIT $1::int
       ), ${OUTBOX_ORDERING.takeHeadsCtes}, picked AS (
         SELECT id, subscription_id FROM candidates WHERE NOT ordered OR id IN (SELECT delivery_id FROM heads_taken)
       ), permits AS (
         SELECT a.subscription_id, a.has_limiter, a.in_flight_limit, a.per_second_limit,
                a.live_holders || jsonb_object_agg(p.id, ${NOW_MS} + $2::bigint) AS holders
           FROM room a JOIN picked p ON p.subscription_id = a.subscription_id
          WHERE a.limited
          GROUP BY a.subscription_id, a.has_limiter, a.in_flight_limit, a.per_second_limit, a.live_holders
       ), taken AS (
         UPDATE subscription_limiters l SET holders = p.holders,
                in_flight_limit = p.in_flight_limit, per_second_limit = p.per_second_limit
           FROM permits p WHERE l.subscription_id = p.subscription_id AND p.has_limiter
         RETURNING l.subscription_id
       ), created AS (
         -- A limiter row another statement created meanwhile admits nothing here: the next claim judges it.
         INSERT INTO subscription_limiters (subscription_id, holders, next_start_at, in_flight_limit, per_second_limit)
         SELECT subscription_id, holders, NULL::timestamptz, in_flight_limit, per_second_limit
           FROM permits WHERE NOT has_limiter
         ON CONFLICT (subscription_id) DO NOTHING
         RETURNING subscription_id
       ), claimed AS (
         UPDATE deliveries d SET start_claimed_until = now() + make_interval(secs => $2::int / 1000.0)
           FROM events e, picked p
          WHERE d.id = p.id AND e.id = d.event_id
            AND ${notStartedById('d')} AND d.status = 'pending'
            AND (d.start_claimed_until IS NULL OR d.start_claimed_until < now())
            AND (p.subscription_id NOT IN (SELECT subscription_id FROM permits)
                 OR p.subscription_id IN (SELECT subscription_id FROM taken UNION ALL SELECT subscription_id FROM created))
          RETURNING ${CLAIMED_COLUMNS}, CASE WHEN d.redrive_count = 0 THEN e.trace_parent END AS trace_parent, d.created_at
       )
       -- One row even when nothing was claimed, for what was held back; claimed rows in publish order, so starts
       -- follow it as far as concurrent starts allow.
       SELECT c.id, c.event_id, c.subscription_id, c.tenant_id, c.event_type, c.workflow_id, c.occurred_at,
              c.attempt_count, c.redrive_count, c.trace_parent,
              EXISTS (SELECT 1 FROM outbox o JOIN room a ON a.subscription_id = o.subscription_id
                       WHERE a.limited AND o.turn > a.admits) AS held_back
         FROM (SELECT 1) one LEFT JOIN claimed c ON true
        ORDER BY c.created_at`,
      values: [limit, leaseMs, defaults.maxInFlight, defaults.maxPerSecond],
    });
    return {
      rows: rows.filter((row) => row.id !== null),
      heldBack: rows[0]?.held_back === true,
    };
  }

  /**
   * Gives claimed rows back at once (their start failed), with the permits they were admitted with, so the next
   * relay pass retries them without waiting out the lease.
   */
  async release(deliveryIds: string[]): Promise<void> {
    if (deliveryIds.length === 0) return;
    await this.pool.query(
      `WITH released AS (
         UPDATE deliveries SET start_claimed_until = NULL WHERE id = ANY($1::text[]) AND ${notStartedById()}
         RETURNING subscription_id
       )
       UPDATE subscription_limiters SET holders = holders - $1::text[]
        WHERE subscription_id IN (SELECT subscription_id FROM released) AND holders ?| $1::text[]`,
      [deliveryIds],
    );
  }

  async markStarted(deliveryIds: string[]): Promise<void> {
    if (deliveryIds.length === 0) return;
    await this.pool.query(
      `UPDATE deliveries SET workflow_started_at = now(), start_claimed_until = NULL
        WHERE id = ANY($1::text[]) AND ${notStartedById()}`,
      [deliveryIds],
    );
  }

  /**
   * Claims an ended delivery (in one of `from`: a dead letter for a redrive, any ended one for a resend) for a new
   * workflow run (status pending, reason kept until the next attempt); undefined when it is not, or no longer, in
   * one of them, so two concurrent claims cannot both start a run. The row goes back into the outbox under this
   * claim's lease: if the claimer dies before its start, a relay starts the run.
   */
  async claimRedrive(
    deliveryId: string,
    scope: TenantScope,
    from: readonly EndedDeliveryStatus[],
    db: Db = this.pool,
  ): Promise<RedriveClaim | undefined> {
    const { rows } = await db.query<RedriveClaim>(
      `WITH previous AS (
         SELECT id, status FROM deliveries
          WHERE id = $1::text AND status = ANY($4::text[]) AND ($2::text IS NULL OR tenant_id = $2::text)
          FOR UPDATE
       )
       UPDATE deliveries d SET status = 'pending', next_attempt_at = NULL, redrive_count = redrive_count + 1, updated_at = now(),
              workflow_started_at = NULL, start_claimed_until = now() + make_interval(secs => $3::int / 1000.0)
         FROM events e, previous p
        WHERE d.id = p.id AND e.id = d.event_id
        RETURNING ${CLAIMED_COLUMNS}, p.status AS previous_status`,
      [deliveryId, scope ?? null, START_CLAIM_LEASE_MS, from],
    );
    return rows[0];
  }

  /** Puts a claimed redrive back as it was when Temporal refused the new run (unless a relay started one meanwhile). */
  async abortRedrive(claim: Pick<RedriveClaim, 'id' | 'previous_status'>): Promise<void> {
    await this.pool.query(
      `UPDATE deliveries SET status = $2::text, redrive_count = redrive_count - 1, updated_at = now(),
              workflow_started_at = now(), start_claimed_until = NULL
        WHERE id = $1::text AND status = 'pending' AND ${notStartedById()}`,
      [claim.id, claim.previous_status],
    );
  }
}
