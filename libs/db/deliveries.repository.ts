import { Pool } from 'pg';
import { ACTIVE_DELIVERY_STATUSES, DeliveryStatus } from '../contracts/delivery-status';
import { Page, toPage } from './page';
import { DELIVERY_TO_START_COLUMNS, DeliveryFilter, DeliveryToStart, TenantScope } from './rows';

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

/** A delivery with what an operator action needs to signal (or start) its workflow. */
export type DeliveryForOperation = DeliveryToStart & {
  attempt_count: number;
  status: DeliveryStatus;
  /** The ordering key it waits in the outbox under for its turn (null: not ordered, or started). */
  queued_under_key: string | null;
};

const VIEW_COLUMNS = `d.id, d.event_id, d.subscription_id, d.tenant_id, d.event_type, d.status, d.attempt_count,
  d.next_attempt_at, d.last_status_code, d.last_error, d.failure_reason, d.redrive_count, d.delivered_at,
  d.dead_lettered_at, d.created_at, d.updated_at`;

/** Parameters $1..$9 of FILTER_CONDITIONS. */
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

/** DeliveryForOperation's columns, from deliveries `d` joined to their events `e`. */
const FOR_OPERATION_COLUMNS = `${DELIVERY_TO_START_COLUMNS}, d.attempt_count, d.status,
  CASE WHEN d.workflow_started_at IS NULL AND d.redrive_count = 0 THEN d.ordering_key END AS queued_under_key`;

export interface HourOfAttempts {
  hour: Date;
  succeeded: number;
  failed: number;
}

/** Deliveries as the api reads them (one, a page, an event's, the dead letters a bulk redrive takes), and their attempts. */
export class DeliveriesRepository {
  constructor(private readonly pool: Pool) {}

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
       SELECT h.hour, (count(a.started_at) FILTER (WHERE a.succeeded))::integer AS succeeded,
              (count(a.started_at) FILTER (WHERE NOT a.succeeded))::integer AS failed
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
  async deadLettersForBulkRedrive(
    filter: DeliveryFilter,
    cutoff: Date,
    afterId: string | null,
    limit: number,
  ): Promise<string[]> {
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
      `SELECT ${FOR_OPERATION_COLUMNS}
         FROM deliveries d JOIN events e ON e.id = d.event_id
        WHERE d.subscription_id = $1::text AND d.status = ANY($2::text[])`,
      [subscriptionId, ACTIVE_DELIVERY_STATUSES],
    );
    return rows;
  }

  async forOperation(id: string, scope: TenantScope): Promise<DeliveryForOperation | undefined> {
    const { rows } = await this.pool.query<DeliveryForOperation>(
      `SELECT ${FOR_OPERATION_COLUMNS}
         FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = $1::text AND ($2::text IS NULL OR d.tenant_id = $2::text)`,
      [id, scope ?? null],
    );
    return rows[0];
  }
}
