import { Pool } from 'pg';
import { ACTIVE_DELIVERY_STATUSES, DeliveryStatus } from '../contracts/delivery-status';
import { StoredEvent } from '../contracts/envelope';
import { SubscriptionLimits } from '../contracts/throttle-policy';
import { DeliveryToStart, EVENT_COLUMNS, toStoredEvent } from './events.repository';
import { ClaimedDelivery, START_CLAIM_LEASE_MS } from './outbox.repository';
import { Page, toPage } from './page';
import { Db } from './pool';
import { SubscriptionsRepository, SubscriptionTarget, TARGET_COLUMNS, TargetRow, TenantScope } from './subscriptions.repository';

export interface DeliveryView {
  id: string;
  event_id: string;
  subscription_id: string;
  tenant_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempt_count: number;
  next_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  failure_reason: string | null;
  redrive_count: number;
  delivered_at: Date | null;
  dead_lettered_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface AttemptView {
  attempt: number;
  started_at: Date;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  response_excerpt: string | null;
  succeeded: boolean;
}

export interface DeliveryFilter {
  tenantId?: string;
  status?: DeliveryStatus;
  eventType?: string;
  subscriptionId?: string;
  failureReason?: string;
  /** Dead-lettered at or after / before these times. */
  deadLetteredFrom?: Date;
  deadLetteredTo?: Date;
  /** Created (published) at or after / before these times. */
  createdFrom?: Date;
  createdTo?: Date;
}

/** A delivery with what an operator action needs to signal (or start) its workflow. */
export type DeliveryForOperation = DeliveryToStart & { attempt_count: number; status: DeliveryStatus };

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

/** A delivery as its ending reports it (the dead-letter operational event). */
export interface EndedDelivery {
  id: string;
  event_id: string;
  event_type: string;
  subscription_id: string;
  tenant_id: string;
  attempt_count: number;
  redrive_count: number;
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
  subscription: SubscriptionTarget | undefined;
  /**
   * Set when the subscription's limits had no permit free: the delivery is now `throttled` until this many ms from
   * now, nothing may be sent. Null when the attempt holds a permit (released by recordAttempt or releasePermit), or
   * needs none (no limits, or an attempt that will not send: delivered already, subscription disabled or deleted).
   */
  throttledForMs: number | null;
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

/** The database's clock in epoch ms: every worker's permits are judged on one clock. */
const NOW_MS = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;

/** The live holders of limiter row `l` other than delivery $1 (its own earlier permit, from a retried attempt). */
const OTHER_LIVE_HOLDERS = `jsonb_each(l.holders) h WHERE h.key <> $1::text AND h.value::bigint > ${NOW_MS}`;

const VIEW_COLUMNS = `d.id, d.event_id, d.subscription_id, d.tenant_id, d.event_type, d.status, d.attempt_count,
  d.next_attempt_at, d.last_status_code, d.last_error, d.failure_reason, d.redrive_count, d.delivered_at,
  d.dead_lettered_at, d.created_at, d.updated_at`;

/** Parameters $1..$7 of FILTER_CONDITIONS. */
const FILTER_CONDITIONS = `($1::text IS NULL OR d.tenant_id = $1::text)
  AND ($2::text IS NULL OR d.status = $2::text)
  AND ($3::text IS NULL OR d.event_type = $3::text)
  AND ($4::text IS NULL OR d.subscription_id = $4::text)
  AND ($5::text IS NULL OR d.failure_reason = $5::text)
  AND ($6::timestamptz IS NULL OR d.dead_lettered_at >= $6::timestamptz)
  AND ($7::timestamptz IS NULL OR d.dead_lettered_at < $7::timestamptz)
  AND ($8::timestamptz IS NULL OR d.created_at >= $8::timestamptz)
  AND ($9::timestamptz IS NULL OR d.created_at < $9::timestamptz)`;

function filterParams(filter: DeliveryFilter): unknown[] {
  return [
    filter.tenantId ?? null,
    filter.status ?? null,
    filter.eventType ?? null,
    filter.subscriptionId ?? null,
    filter.failureReason ?? null,
    filter.deadLetteredFrom ?? null,
    filter.deadLetteredTo ?? null,
    filter.createdFrom ?? null,
    filter.createdTo ?? null,
  ];
}

export interface HourOfAttempts {
  hour: Date;
  succeeded: number;
  failed: number;
}

/** Removes delivery $1's permit from its subscription's limiter row, if it holds one. */
const RELEASE_PERMIT = `UPDATE subscription_limiters SET holders = holders - $1::text
  WHERE subscription_id = (SELECT subscription_id FROM deliveries WHERE id = $1::text) AND holders ? $1::text`;

export class DeliveriesRepository {
  constructor(
    private readonly pool: Pool,
    private readonly subscriptions: SubscriptionsRepository,
  ) {}

  async get(id: string, scope: TenantScope): Promise<DeliveryView | undefined> {
    const { rows } = await this.pool.query<DeliveryView>(
      `SELECT ${VIEW_COLUMNS} FROM deliveries d WHERE d.id = $1::text AND ($2::text IS NULL OR d.tenant_id = $2::text)`,
      [id, scope ?? null],
    );
    return rows[0];
  }

  async attempts(deliveryId: string): Promise<AttemptView[]> {
    const { rows } = await this.pool.query<AttemptView>(
      `SELECT attempt, started_at, duration_ms, status_code, error, response_excerpt, succeeded
         FROM delivery_attempts WHERE delivery_id = $1::text ORDER BY attempt`,
      [deliveryId],
    );
    return rows;
  }

  /** A subscription's attempts in each of the last 24 hours (UTC, the current hour last), by outcome. */
  async attemptsPerHour(subscriptionId: string): Promise<HourOfAttempts[]> {
    const { rows } = await this.pool.query<HourOfAttempts>(
      `WITH since AS (SELECT date_trunc('hour', now(), 'UTC') - interval '23 hours' AS at)
       SELECT h.hour, (count(a.started_at) FILTER (WHERE a.succeeded))::integer AS succeeded, (count(a.started_at) FILTER (WHERE NOT a.succeeded))::integer AS failed
         FROM since, generate_series(since.at, since.at + interval '23 hours', interval '1 hour') AS h(hour)
         LEFT JOIN (SELECT a.started_at, a.succeeded FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id, since
                     WHERE d.subscription_id = $1::text AND a.started_at >= since.at) a
           ON date_trunc('hour', a.started_at, 'UTC') = h.hour
        GROUP BY h.hour ORDER BY h.hour`,
      [subscriptionId],
    );
    return rows;
  }

  /** An event's deliveries in scope: an operational event's deliveries to the platform tenant are the platform's. */
  async listByEvent(eventId: string, scope: TenantScope): Promise<DeliveryView[]> {
    const { rows } = await this.pool.query<DeliveryView>(
      `SELECT ${VIEW_COLUMNS} FROM deliveries d WHERE d.event_id = $1::text AND ($2::text IS NULL OR d.tenant_id = $2::text) ORDER BY d.id`,
      [eventId, scope ?? null],
    );
    return rows;
  }

  async list(filter: DeliveryFilter, afterId: string | undefined, limit: number): Promise<Page<DeliveryView>> {
    const { rows } = await this.pool.query<DeliveryView>(
      `SELECT ${VIEW_COLUMNS} FROM deliveries d
        WHERE ${FILTER_CONDITIONS} AND ($10::text IS NULL OR d.id < $10::text)
        ORDER BY d.id DESC LIMIT $11::int`,
      [...filterParams(filter), afterId ?? null, limit + 1],
    );
    return toPage(rows, limit);
  }

  /** Dead letters matching a bulk redrive's filter, oldest id first, dead-lettered no later than the cutoff. */
  async deadLettersForBulkRedrive(filter: DeliveryFilter, cutoff: Date, afterId: string | null, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT d.id FROM deliveries d
        WHERE ${FILTER_CONDITIONS} AND d.dead_lettered_at <= $10::timestamptz AND ($11::text IS NULL OR d.id > $11::text)
        ORDER BY d.id LIMIT $12::int`,
      [...filterParams({ ...filter, status: 'dead_lettered' }), cutoff, afterId, limit],
    );
    return rows.map((row) => row.id);
  }

  /** Deliveries of a subscription whose workflow may still be waiting to attempt. */
  async activeForSubscription(subscriptionId: string): Promise<DeliveryForOperation[]> {
    const { rows } = await this.pool.query<DeliveryForOperation>(
      `SELECT d.id, d.event_id, d.subscription_id, d.tenant_id, d.event_type, d.workflow_id, e.occurred_at, d.attempt_count, d.status
         FROM deliveries d JOIN events e ON e.id = d.event_id
        WHERE d.subscription_id = $1::text AND d.status = ANY($2::text[])`,
      [subscriptionId, ACTIVE_DELIVERY_STATUSES],
    );
    return rows;
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
         SELECT d.id AS delivery_id, d.status, d.subscription_id, d.created_at AS delivery_created_at, ${EVENT_COLUMNS.split(', ').map((c) => `e.${c}`).join(', ')},
                CASE WHEN s.id IS NOT NULL THEN (SELECT row_to_json(t) FROM (SELECT ${TARGET_COLUMNS}) t) END AS target,
                COALESCE(s.max_in_flight, $2::int) AS in_flight_limit,
                COALESCE(s.max_per_second, $3::int) AS per_second_limit,
                d.status <> 'delivered' AND s.enabled AND s.deleted_at IS NULL
                  AND (COALESCE(s.max_in_flight, $2::int) > 0 OR COALESCE(s.max_per_second, $3::int) > 0) AS limited,
                GREATEST($5::int, COALESCE(ceil(extract(epoch FROM l.next_start_at - clock_timestamp()) * 1000), 0))::int AS wait_ms
           FROM deliveries d JOIN events e ON e.id = d.event_id
           LEFT JOIN subscriptions s ON s.id = d.subscription_id
           LEFT JOIN subscription_limiters l ON l.subscription_id = d.subscription_id
          WHERE d.id = $1::text
       ), permit AS (
         INSERT INTO subscription_limiters AS l (subscription_id, holders, next_start_at, in_flight_limit, per_second_limit)
         SELECT subscription_id, jsonb_build_object($1::text, ${NOW_MS} + $4::bigint),
                CASE WHEN per_second_limit > 0 THEN clock_timestamp() + make_interval(secs => 1.0 / per_second_limit) END,
                in_flight_limit, per_second_limit
           FROM ctx WHERE limited
         ON CONFLICT (subscription_id) DO UPDATE SET
           holders = (SELECT COALESCE(jsonb_object_agg(h.key, h.value), '{}'::jsonb) FROM ${OTHER_LIVE_HOLDERS}) || EXCLUDED.holders,
           next_start_at = CASE WHEN EXCLUDED.per_second_limit > 0
             THEN clock_timestamp() + make_interval(secs => 1.0 / EXCLUDED.per_second_limit) END,
           in_flight_limit = EXCLUDED.in_flight_limit,
           per_second_limit = EXCLUDED.per_second_limit
         WHERE (EXCLUDED.in_flight_limit = 0 OR (SELECT count(*) FROM ${OTHER_LIVE_HOLDERS}) < EXCLUDED.in_flight_limit)
           AND (EXCLUDED.per_second_limit = 0 OR l.next_start_at IS NULL OR l.next_start_at <= clock_timestamp())
         RETURNING l.subscription_id
       ), throttled AS (
         UPDATE deliveries d SET status = 'throttled', next_attempt_at = clock_timestamp() + make_interval(secs => ctx.wait_ms / 1000.0), updated_at = now()
           FROM ctx WHERE d.id = ctx.delivery_id AND ctx.limited AND NOT EXISTS (SELECT 1 FROM permit)
         RETURNING ctx.wait_ms
       )
       SELECT ctx.*, (SELECT wait_ms FROM throttled) AS throttled_for_ms FROM ctx`,
      values: [deliveryId, permit.defaults.maxInFlight, permit.defaults.maxPerSecond, permit.leaseMs, permit.backoffMs],
    });
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      delivery: { id: row.delivery_id, status: row.status, subscription_id: row.subscription_id, created_at: row.delivery_created_at },
      event: toStoredEvent(row),
      subscription: row.target === null ? undefined : this.subscriptions.toTarget(row.target as TargetRow),
      throttledForMs: row.throttled_for_ms,
    };
  }

  /** Gives back the permit of an attempt that took one and then sent nothing (it found the deadline passed). */
  async releasePermit(deliveryId: string): Promise<void> {
    await this.pool.query(RELEASE_PERMIT, [deliveryId]);
  }

  /**
   * Idempotent per (delivery, attempt): an activity retried after an infrastructure fault overwrites its own row.
   * In the same statement, the attempt's permit is released, and a failed attempt that counts starts its
   * subscription's run of failures (when none is running); answers when the run began, as it stood before a
   * success (null: the subscription was not failing).
   */
  async recordAttempt(record: AttemptRecord): Promise<Date | null> {
    const { rows } = await this.pool.query<{ failing_since: Date | null }>({
      name: 'record-attempt',
      text: `WITH released AS (${RELEASE_PERMIT}), attempt AS (
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
       SELECT COALESCE((SELECT failing_since FROM failing), s.failing_since) AS failing_since
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
    return rows[0]?.failing_since ?? null;
  }

  async recordState(deliveryId: string, change: DeliveryStateChange): Promise<EndedDelivery | undefined> {
    const { rows } = await this.pool.query<EndedDelivery>(
      `UPDATE deliveries SET
         status = $2::text,
         next_attempt_at = $3::timestamptz,
         failure_reason = $4::text,
         dead_lettered_at = CASE WHEN $2::text = 'dead_lettered' THEN COALESCE(dead_lettered_at, now()) ELSE NULL END,
         updated_at = now()
       WHERE id = $1::text
       RETURNING id, event_id, event_type, subscription_id, tenant_id, attempt_count, redrive_count`,
      [deliveryId, change.status, change.nextAttemptAt ?? null, change.failureReason ?? null],
    );
    return rows[0];
  }

  async forOperation(id: string, scope: TenantScope): Promise<DeliveryForOperation | undefined> {
    const { rows } = await this.pool.query<DeliveryForOperation>(
      `SELECT d.id, d.event_id, d.subscription_id, d.tenant_id, d.event_type, d.workflow_id, e.occurred_at, d.attempt_count, d.status
         FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = $1::text AND ($2::text IS NULL OR d.tenant_id = $2::text)`,
      [id, scope ?? null],
    );
    return rows[0];
  }

  /**
   * Claims a dead letter for a new workflow run (status pending, reason kept until the next attempt); undefined
   * when it is not, or no longer, dead-lettered, so two concurrent redrives cannot both start a run. The row goes
   * back into the outbox under this claim's lease: if the redriver dies before its start, a relay starts the run.
   */
  async beginRedrive(deliveryId: string, scope: TenantScope, db: Db = this.pool): Promise<ClaimedDelivery | undefined> {
    const { rows } = await db.query<ClaimedDelivery>(
      `UPDATE deliveries d SET status = 'pending', next_attempt_at = NULL, redrive_count = redrive_count + 1, updated_at = now(),
              workflow_started_at = NULL, start_claimed_until = now() + make_interval(secs => $3::int / 1000.0)
         FROM events e
        WHERE d.id = $1::text AND d.status = 'dead_lettered' AND e.id = d.event_id AND ($2::text IS NULL OR d.tenant_id = $2::text)
        RETURNING d.id, d.event_id, d.subscription_id, d.tenant_id, d.event_type, d.workflow_id, e.occurred_at, d.attempt_count, d.redrive_count`,
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
