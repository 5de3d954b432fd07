import { Pool } from 'pg';
import { newBulkRedriveId, newReplayId } from '../contracts/ids';
import { Db } from './pool';
import { DeliveryFilter } from './rows';
import type { TenantScope } from './rows';

/** A job's kind: dead letters by filter (a bulk redrive), or a subscription's events in a window (a replay). */
export type BulkRedriveKind = 'dead_letters' | 'replay';

export interface BulkRedriveView<Filter = StoredFilter> {
  id: string;
  tenant_id: string | null;
  filter: Filter;
  cutoff: Date;
  status: 'running' | 'completed';
  matched: number;
  redriven: number;
  skipped: number;
  failed: number;
  requested_by: string;
  created_at: Date;
  finished_at: Date | null;
}

/** The filter as the API took it (snake_case, ISO times), kept with the job so its status shows what it redrives. */
export interface StoredFilter {
  tenant_id?: string;
  subscription_id?: string;
  event_type?: string;
  reason?: string;
  from?: string;
  to?: string;
}

/** A replay's window and filters as the API took them, and the part of the window retention had already purged. */
export interface ReplayFilter {
  subscription_id: string;
  from: string;
  to: string;
  event_types?: string[];
  only_failed: boolean;
  /** What the replay could not take: the part of the window before the oldest event retention keeps. */
  not_replayed: { from: string; to: string; reason: 'retention' } | null;
}

/** Where a job stands: its filter, cutoff, and the last row it handled (an id; for a replay, with its time). */
export type JobPosition =
  | { kind: 'dead_letters'; filter: StoredFilter; cutoff: Date; lastId: string | null; lastAt: null; status: string }
  | { kind: 'replay'; filter: ReplayFilter; cutoff: Date; lastId: string | null; lastAt: Date | null; status: string };

export interface BatchProgress {
  matched: number;
  redriven: number;
  skipped: number;
  failed: number;
  lastId: string | null;
  /** A replay's last event's occurred_at, beside lastId. */
  lastAt?: Date | null;
  done: boolean;
}

const COLUMNS =
  'id, tenant_id, filter, cutoff, status, matched, redriven, skipped, failed, requested_by, created_at, finished_at';

export function toDeliveryFilter(filter: StoredFilter): DeliveryFilter {
  return {
    tenantId: filter.tenant_id,
    subscriptionId: filter.subscription_id,
    eventType: filter.event_type,
    failureReason: filter.reason,
    deadLetteredFrom: filter.from === undefined ? undefined : new Date(filter.from),
    deadLetteredTo: filter.to === undefined ? undefined : new Date(filter.to),
  };
}

export class BulkRedrivesRepository {
  constructor(private readonly pool: Pool) {}

  async create(filter: StoredFilter, requestedBy: string, db: Db = this.pool): Promise<BulkRedriveView> {
    return this.insert('dead_letters', newBulkRedriveId(), filter.tenant_id ?? null, filter, requestedBy, db);
  }

  /** A replay's job, on `db` (the transaction that checks the tenant's quota and records the operator action). */
  createReplay(
    tenantId: string,
    filter: ReplayFilter,
    requestedBy: string,
    db: Db,
  ): Promise<BulkRedriveView<ReplayFilter>> {
    return this.insert('replay', newReplayId(), tenantId, filter, requestedBy, db);
  }

  private async insert<Filter>(
    kind: BulkRedriveKind,
    id: string,
    tenantId: string | null,
    filter: Filter,
    requestedBy: string,
    db: Db,
  ): Promise<BulkRedriveView<Filter>> {
    const { rows } = await db.query<BulkRedriveView<Filter>>(
      `INSERT INTO bulk_redrives (id, kind, tenant_id, filter, requested_by)
       VALUES ($1::text, $2::text, $3::text, $4::jsonb, $5::text) RETURNING ${COLUMNS}`,
      [id, kind, tenantId, JSON.stringify(filter), requestedBy],
    );
    return rows[0];
  }

  async get(id: string, scope: TenantScope): Promise<BulkRedriveView | undefined> {
    return this.ofKind<StoredFilter>('dead_letters', id, scope);
  }

  getReplay(id: string, scope: TenantScope): Promise<BulkRedriveView<ReplayFilter> | undefined> {
    return this.ofKind<ReplayFilter>('replay', id, scope);
  }

  private async ofKind<Filter>(
    kind: BulkRedriveKind,
    id: string,
    scope: TenantScope,
  ): Promise<BulkRedriveView<Filter> | undefined> {
    const { rows } = await this.pool.query<BulkRedriveView<Filter>>(
      `SELECT ${COLUMNS} FROM bulk_redrives
        WHERE id = $1::text AND kind = $3::text AND ($2::text IS NULL OR tenant_id = $2::text)`,
      [id, scope ?? null, kind],
    );
    return rows[0];
  }

  /** Where the job stands: its kind and filter, cutoff and the last row it handled. */
  async position(id: string): Promise<JobPosition | undefined> {
    const { rows } = await this.pool.query<{
      kind: BulkRedriveKind;
      filter: StoredFilter & ReplayFilter;
      cutoff: Date;
      last_id: string | null;
      last_at: Date | null;
      status: string;
    }>(`SELECT kind, filter, cutoff, last_id, last_at, status FROM bulk_redrives WHERE id = $1::text`, [id]);
    const row = rows[0];
    if (row === undefined) return undefined;
    const at = { filter: row.filter, cutoff: row.cutoff, lastId: row.last_id, status: row.status };
    return row.kind === 'replay'
      ? { kind: 'replay', ...at, lastAt: row.last_at }
      : { kind: row.kind, ...at, lastAt: null };
  }

  async recordBatch(id: string, progress: BatchProgress): Promise<void> {
    await this.pool.query(
      `UPDATE bulk_redrives SET matched = matched + $2::int, redriven = redriven + $3::int, skipped = skipped + $4::int,
              failed = failed + $5::int, last_id = COALESCE($6::text, last_id),
              last_at = COALESCE($8::timestamptz, last_at),
              status = CASE WHEN $7::boolean THEN 'completed' ELSE status END,
              finished_at = CASE WHEN $7::boolean THEN now() ELSE finished_at END
        WHERE id = $1::text`,
      [
        id,
        progress.matched,
        progress.redriven,
        progress.skipped,
        progress.failed,
        progress.lastId,
        progress.done,
        progress.lastAt ?? null,
      ],
    );
  }
}
