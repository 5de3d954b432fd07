import { Pool } from 'pg';
import { newBulkRedriveId } from '../contracts/ids';
import { Db } from './pool';
import { DeliveryFilter } from './rows';
import type { TenantScope } from './rows';

export interface BulkRedriveView {
  id: string;
  tenant_id: string | null;
  filter: StoredFilter;
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

export interface BatchProgress {
  matched: number;
  redriven: number;
  skipped: number;
  failed: number;
  lastId: string | null;
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
    const { rows } = await db.query<BulkRedriveView>(
      `INSERT INTO bulk_redrives (id, tenant_id, filter, requested_by) VALUES ($1::text, $2::text, $3::jsonb, $4::text) RETURNING ${COLUMNS}`,
      [newBulkRedriveId(), filter.tenant_id ?? null, JSON.stringify(filter), requestedBy],
    );
    return rows[0];
  }

  async get(id: string, scope: TenantScope): Promise<BulkRedriveView | undefined> {
    const { rows } = await this.pool.query<BulkRedriveView>(
      `SELECT ${COLUMNS} FROM bulk_redrives WHERE id = $1::text AND ($2::text IS NULL OR tenant_id = $2::text)`,
      [id, scope ?? null],
    );
    return rows[0];
  }

  /** Where the job stands: its filter, cutoff and the last dead letter it handled. */
  async position(
    id: string,
  ): Promise<{ filter: StoredFilter; cutoff: Date; lastId: string | null; status: string } | undefined> {
    const { rows } = await this.pool.query<{
      filter: StoredFilter;
      cutoff: Date;
      last_id: string | null;
      status: string;
    }>(`SELECT filter, cutoff, last_id, status FROM bulk_redrives WHERE id = $1::text`, [id]);
    return (
      rows[0] && { filter: rows[0].filter, cutoff: rows[0].cutoff, lastId: rows[0].last_id, status: rows[0].status }
    );
  }

  async recordBatch(id: string, progress: BatchProgress): Promise<void> {
    await this.pool.query(
      `UPDATE bulk_redrives SET matched = matched + $2::int, redriven = redriven + $3::int, skipped = skipped + $4::int,
              failed = failed + $5::int, last_id = COALESCE($6::text, last_id),
              status = CASE WHEN $7::boolean THEN 'completed' ELSE status END,
              finished_at = CASE WHEN $7::boolean THEN now() ELSE finished_at END
        WHERE id = $1::text`,
      [id, progress.matched, progress.redriven, progress.skipped, progress.failed, progress.lastId, progress.done],
    );
  }
}
