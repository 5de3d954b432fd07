import { Pool } from 'pg';
import { ulid } from 'ulid';
import { Page, toPage } from './page';

export type OperatorAction =
  | 'delivery.cancel'
  | 'delivery.retry'
  | 'dead_letter.redrive'
  | 'dead_letter.bulk_redrive'
  | 'subscription.rotate_secret'
  | 'subscription.disable'
  | 'subscription.enable'
  | 'subscription.delete'
  | 'api_key.create'
  | 'api_key.revoke';

export interface OperatorActionRecord {
  tenantId: string | null;
  action: OperatorAction;
  targetType: 'delivery' | 'subscription' | 'api_key' | 'bulk_redrive';
  targetId: string;
  actor: string;
  details?: Record<string, unknown>;
}

export interface OperatorActionView {
  id: string;
  tenant_id: string | null;
  action: OperatorAction;
  target_type: string;
  target_id: string;
  actor: string;
  details: Record<string, unknown>;
  created_at: Date;
}

export interface OperatorActionFilter {
  tenantId?: string;
  targetId?: string;
  action?: string;
}

/** The audit log of operator actions, newest first. */
export class OperatorActionsRepository {
  constructor(private readonly pool: Pool) {}

  async record(entry: OperatorActionRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO operator_actions (id, tenant_id, action, target_type, target_id, actor, details)
       VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::jsonb)`,
      [`opa_${ulid()}`, entry.tenantId, entry.action, entry.targetType, entry.targetId, entry.actor, JSON.stringify(entry.details ?? {})],
    );
  }

  async list(filter: OperatorActionFilter, afterId: string | undefined, limit: number): Promise<Page<OperatorActionView>> {
    const { rows } = await this.pool.query<OperatorActionView>(
      `SELECT id, tenant_id, action, target_type, target_id, actor, details, created_at FROM operator_actions
        WHERE ($1::text IS NULL OR tenant_id = $1::text)
          AND ($2::text IS NULL OR target_id = $2::text)
          AND ($3::text IS NULL OR action = $3::text)
          AND ($4::text IS NULL OR id < $4::text)
        ORDER BY id DESC LIMIT $5::int`,
      [filter.tenantId ?? null, filter.targetId ?? null, filter.action ?? null, afterId ?? null, limit + 1],
    );
    return toPage(rows, limit);
  }
}
