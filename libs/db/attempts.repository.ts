import { Pool } from 'pg';
import { DeliveryStatus } from '../contracts/delivery-status';
import { StoredEvent } from '../contracts/envelope';
import { EndedDelivery } from '../contracts/operational-event-builders';
import { SubscriptionLimits } from '../contracts/throttle-policy';
import { EVENT_COLUMNS, TARGET_COLUMNS, TargetRow, toStoredEvent } from './rows';
import { ENDED_STATUSES, releaseKeyCte } from './ordering-heads';
import { RelayWakeup } from './relay-wakeup';
import { limitsOf, nextStartAfterNow, NOW_MS } from './subscription-limiters';
import { SubscriptionsRepository } from './subscriptions.repository';
import { SubscriptionTarget } from './subscription-records';

export interface AttemptRecord {
  deliveryId: string;
  attempt: number;
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  responseExcerpt: string | null;
  succeeded: boolean;
  /** Whether the attempt counts toward its subscription's run of failures (deliveries of operational events do not). */
  tracksFailures: boolean;
}

/** The state the workflow decided after an attempt or a signal. */
export interface DeliveryStateChange {
  status: Exclude<DeliveryStatus, 'pending' | 'delivered'>;
  nextAttemptAt?: Date | null;
  failureReason?: string | null;
}

export interface AttemptContext {
  delivery: { id: string; status: DeliveryStatus; subscription_id: string; created_at: Date };
  event: StoredEvent;
  /** The event's ordering key, sent as a header (null: it has none). */
  orderingKey: string | null;
  subscription: SubscriptionTarget | undefined;
  /**
   * Set when the subscription's limits had no permit free: the delivery is now `throttled` until this many ms from
   * now, nothing may be sent. Null when the attempt holds a permit (released by recordAttempt or releasePermit), or
   * needs none (no limits, or an attempt that will not send: delivered already, subscription disabled or deleted).
   */
  throttledForMs: number | null;
  /** The subscription's in-flight limit (its own, else the default; 0: no cap). */
  inFlightLimit: number;
  /** Whether this attempt now holds one of the subscription's permits. */
  holdsPermit: boolean;
}

/** What taking a permit needs beyond the subscription's own limits. */
export interface PermitRequest {
  /** For a subscription whose max_in_flight / max_per_second are null. */
  defaults: SubscriptionLimits;
  /** How long a permit lasts if its attempt never releases it (its worker died). */
  leaseMs: number;
  /** How long to stay throttled when no permit is free; at least until the pacing lets the next attempt start. */
  backoffMs: number;
}

const LIMITS = limitsOf('$2', '$3');

/** The live holders of limiter row `l` other than delivery $1 (its own earlier permit, from a retried attempt). */
const OTHER_LIVE_HOLDERS = `jsonb_each(l.holders) h WHERE h.key <> $1::text AND h.value::bigint > ${NOW_MS}`;

/**
 * Whether delivery $1 holds a live permit of limiter row `l` already: the outbox admitted its first attempt, or this
 * is a retry of an attempt that took it. It keeps its place under max_in_flight, which its taking already judged;
 * the pacing is still judged here, at the start of the attempt, the moment the receiver sees.
 */
const HOLDS_LIVE_PERMIT = `COALESCE((l.holders ->> $1::text)::bigint > ${NOW_MS}, false)`;

/**
 * Whether delivery $1's live permit (the outbox admitted it moments ago) lasts the whole attempt ($4: the attempt's
 * lease) and no pacing applies: then the attempt keeps it as it is, and its subscription's limiter row, which every
 * attempt of the subscription would otherwise lock and rewrite, is not touched.
 */
const PERMIT_LASTS = `(${LIMITS.perSecond} = 0 AND COALESCE((l.holders ->> $1::text)::bigint >= ${NOW_MS} + $4::bigint, false))`;

/** Removes delivery $1's permit from its subscription's limiter row, if it holds one. */
const RELEASE_PERMIT = `UPDATE subscription_limiters SET holders = holders - $1::text
  WHERE subscription_id = (SELECT subscription_id FROM deliveries WHERE id = $1::text) AND holders ? $1::text`;

/**
 * The attempt's writes: its context and permit, its row in delivery_attempts, the state the workflow decided after it.
 * A write that ends the head of an ordering key wakes the relays after its commit, as a publish does: the key's next
 * delivery is ready to start at once.
 */
export class AttemptsRepository {
  private readonly relayWakeup: RelayWakeup;

  constructor(
    private readonly pool: Pool,
    private readonly subscriptions: SubscriptionsRepository,
  ) {
    this.relayWakeup = new RelayWakeup(pool);
  }

  /**
   * Everything one attempt needs, read fresh so the receiver always gets the current URL and secrets, and the
   * subscription's permit taken, in one statement. The permit is decided by an upsert on the subscription's limiter
   * row, which Postgres evaluates on the row's latest version under its lock, so attempts of every worker queue on
   * it and the limits hold across processes. Without a permit the same statement marks the delivery throttled.
   */
  async attemptContext(deliveryId: string, permit: PermitRequest): Promise<AttemptContext | undefined> {
    const { rows } = await this.pool.query({
      // Named (prepared once per connection): planning this statement at every attempt cost Postgres more CPU than running it.
      name: 'attempt-context',
      text: `WITH ctx AS (
         SELECT d.id AS delivery_id, d.status, d.subscription_id, d.created_at AS delivery_created_at, ${EVENT_COLUMNS.split(
           ', ',
         )
           .map((c) => `e.${c}`)
           .join(', ')},
                CASE WHEN s.id IS NOT NULL THEN (SELECT row_to_json(t) FROM (SELECT ${TARGET_COLUMNS}) t) END AS target,
                ${LIMITS.inFlight} AS in_flight_limit, ${LIMITS.perSecond} AS per_second_limit,
                d.status <> 'delivered' AND ${LIMITS.limited} AS limited, ${PERMIT_LASTS} AS permit_lasts, e.ordering_key,
                GREATEST($5::int, COALESCE(ceil(extract(epoch FROM l.next_start_at - clock_timestamp()) * 1000), 0))::int AS wait_ms
           FROM deliveries d JOIN events e ON e.id = d.event_id
           LEFT JOIN subscriptions s ON s.id = d.subscription_id
           LEFT JOIN subscription_limiters l ON l.subscription_id = d.subscription_id
          WHERE d.id = $1::text
       ), permit AS (
         INSERT INTO subscription_limiters AS l (subscription_id, holders, next_start_at, in_flight_limit, per_second_limit)
         SELECT subscription_id, jsonb_build_object($1::text, ${NOW_MS} + $4::bigint),
                ${nextStartAfterNow('per_second_limit')}, in_flight_limit, per_second_limit
           FROM ctx WHERE limited AND NOT permit_lasts
         ON CONFLICT (subscription_id) DO UPDATE SET
           holders = (SELECT COALESCE(jsonb_object_agg(h.key, h.value), '{}'::jsonb) FROM ${OTHER_LIVE_HOLDERS}) || EXCLUDED.holders,
           next_start_at = ${nextStartAfterNow('EXCLUDED.per_second_limit')},
           in_flight_limit = EXCLUDED.in_flight_limit,
           per_second_limit = EXCLUDED.per_second_limit
         WHERE (${HOLDS_LIVE_PERMIT} OR EXCLUDED.in_flight_limit = 0
                OR (SELECT count(*) FROM ${OTHER_LIVE_HOLDERS}) < EXCLUDED.in_flight_limit)
           AND (EXCLUDED.per_second_limit = 0 OR l.next_start_at IS NULL OR l.next_start_at <= clock_timestamp())
         RETURNING l.subscription_id
       ), throttled AS (
         UPDATE deliveries d SET status = 'throttled', next_attempt_at = clock_timestamp() + make_interval(secs => ctx.wait_ms / 1000.0), updated_at = now()
           FROM ctx WHERE d.id = ctx.delivery_id AND ctx.limited AND NOT ctx.permit_lasts AND NOT EXISTS (SELECT 1 FROM permit)
         RETURNING ctx.wait_ms
       )
       SELECT ctx.*, (SELECT wait_ms FROM throttled) AS throttled_for_ms FROM ctx`,
      values: [deliveryId, permit.defaults.maxInFlight, permit.defaults.maxPerSecond, permit.leaseMs, permit.backoffMs],
    });
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      delivery: {
        id: row.delivery_id,
        status: row.status,
        subscription_id: row.subscription_id,
        created_at: row.delivery_created_at,
      },
      event: toStoredEvent(row),
      orderingKey: row.ordering_key,
      subscription: row.target === null ? undefined : this.subscriptions.toTarget(row.target as TargetRow),
      throttledForMs: row.throttled_for_ms,
      inFlightLimit: row.in_flight_limit,
      holdsPermit: row.limited === true && row.throttled_for_ms === null,
    };
  }

  /** Gives back the permit of an attempt that took one and then sent nothing (it found the deadline passed). */
  async releasePermit(deliveryId: string): Promise<void> {
    await this.pool.query(RELEASE_PERMIT, [deliveryId]);
  }

  /**
   * Idempotent per (delivery, attempt): an activity retried after an infrastructure fault overwrites its own row.
   * In the same statement, the attempt's permit is released, and a failed attempt that counts starts its
   * subscription's run of failures (when none is running), and a delivered attempt releases the ordering key its
   * delivery heads. Answers when the run began, as it stood before a success (null: the subscription was not
   * failing).
   */
  async recordAttempt(record: AttemptRecord): Promise<Date | null> {
    const { rows } = await this.pool.query<{ failing_since: Date | null; key_released: boolean }>({
      name: 'record-attempt',
      text: `WITH released AS (${RELEASE_PERMIT}), ${releaseKeyCte(`CASE WHEN $8::boolean THEN 'delivered' END`)}, attempt AS (
         INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error, response_excerpt, succeeded)
         VALUES ($1::text, $2::int, $3::timestamptz, $4::int, $5::int, $6::text, $7::text, $8::boolean)
         ON CONFLICT (delivery_id, attempt) DO UPDATE SET
           started_at = EXCLUDED.started_at, duration_ms = EXCLUDED.duration_ms, status_code = EXCLUDED.status_code,
           error = EXCLUDED.error, response_excerpt = EXCLUDED.response_excerpt, succeeded = EXCLUDED.succeeded
       ), delivery AS (
         UPDATE deliveries SET
           attempt_count = GREATEST(attempt_count, $2::int),
           last_status_code = $5::int,
           last_error = $6::text,
           status = CASE WHEN $8::boolean THEN 'delivered' ELSE 'attempting' END,
           delivered_at = CASE WHEN $8::boolean THEN now() ELSE delivered_at END,
           next_attempt_at = NULL,
           failure_reason = NULL,
           updated_at = now()
         WHERE id = $1::text
         RETURNING subscription_id
       ), failing AS (
         UPDATE subscriptions s SET failing_since = $3::timestamptz
           FROM delivery d WHERE s.id = d.subscription_id AND $9::boolean AND NOT $8::boolean AND s.failing_since IS NULL
         RETURNING s.failing_since
       )
       SELECT COALESCE((SELECT failing_since FROM failing), s.failing_since) AS failing_since,
              EXISTS (SELECT 1 FROM key_released) AS key_released
         FROM delivery d JOIN subscriptions s ON s.id = d.subscription_id`,
      values: [
        record.deliveryId,
        record.attempt,
        record.startedAt,
        record.durationMs,
        record.statusCode,
        record.error,
        record.responseExcerpt,
        record.succeeded,
        record.tracksFailures,
      ],
    });
    if (rows[0]?.key_released === true) this.relayWakeup.deliveriesCommitted();
    return rows[0]?.failing_since ?? null;
  }

  /**
   * Also gives back a permit the delivery still holds: the one the outbox admitted it with, when it ends (cancelled,
   * stopped) before its first attempt took it over, and releases the ordering key it heads when this ends it.
   */
  async recordState(
    deliveryId: string,
    change: DeliveryStateChange,
    { unlessEnded = false }: { unlessEnded?: boolean } = {},
  ): Promise<EndedDelivery | undefined> {
    const { rows } = await this.pool.query<EndedDelivery & { key_released: boolean }>(
      `WITH released AS (${RELEASE_PERMIT}), ${releaseKeyCte('$2::text')}
       UPDATE deliveries SET
         status = $2::text,
         next_attempt_at = $3::timestamptz,
         failure_reason = $4::text,
         dead_lettered_at = CASE WHEN $2::text = 'dead_lettered' THEN COALESCE(dead_lettered_at, now()) ELSE NULL END,
         updated_at = now()
       WHERE id = $1::text AND NOT ($5::boolean AND status IN ${ENDED_STATUSES})
       RETURNING id, event_id, event_type, subscription_id, tenant_id, attempt_count, redrive_count,
                 EXISTS (SELECT 1 FROM key_released) AS key_released`,
      [deliveryId, change.status, change.nextAttemptAt ?? null, change.failureReason ?? null, unlessEnded],
    );
    if (rows[0] === undefined) return undefined;
    const { key_released: keyReleased, ...ended } = rows[0];
    if (keyReleased) this.relayWakeup.deliveriesCommitted();
    return ended;
  }
}
