import { Pool, PoolClient } from 'pg';
import { newOperatorActionId } from '../contracts/ids';
import { Page, toPage } from './page';
import { Db, withTransaction } from './pool';

export type OperatorAction =
  | 'delivery.cancel'
  | 'delivery.retry'
  | 'delivery.resend'
  | 'dead_letter.redrive'
  | 'dead_letter.bulk_redrive'
  | 'subscription.rotate_secret'
  | 'subscription.disable'
  | 'subscription.enable'
  | 'subscription.delete'
  | 'subscription.replay'
  | 'api_key.create'
  | 'api_key.revoke'
  | 'portal_session.create'
  | 'portal_session.revoke';

export interface OperatorActionRecord {
  tenantId: string | null;
  action: OperatorAction;
  targetType: 'delivery' | 'subscription' | 'api_key' | 'bulk_redrive' | 'portal_session';
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

/** The operator actions (the audit log the API serves), newest first. */
export class OperatorActionsRepository {
  constructor(private readonly pool: Pool) {}

  /** Writes an operator action row (on `db`: inside the caller's transaction when it holds one) and returns its id. */
  async record(entry: OperatorActionRecord, db: Db = this.pool): Promise<string> {
    const id = newOperatorActionId();
    await db.query(
      `INSERT INTO operator_actions (id, tenant_id, action, target_type, target_id, actor, details)
       VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::jsonb)`,
      [
        id,
        entry.tenantId,
        entry.action,
        entry.targetType,
        entry.targetId,
        entry.actor,
        JSON.stringify(entry.details ?? {}),
      ],
    );
    return id;
  }

  /**
   * A database change and its operator action row in one transaction: neither is ever committed without the other. A change
   * that found nothing to act on (undefined) writes no row.
   */
  async changeAndRecord<T>(
    change: (client: PoolClient) => Promise<T | undefined>,
    entry: (result: T) => OperatorActionRecord,
  ): Promise<{ result: T; actionId: string } | undefined> {
    return withTransaction(this.pool, async (client) => {
      const result = await change(client);
      if (result === undefined) return undefined;
      return { result, actionId: await this.record(entry(result), client) };
    });
  }

  /**
   * Carries out the second half of an action whose intent is already recorded (a Temporal signal or start), and
   * adds to its row how that went (`outcome` completed or failed, and what `details` draws from the result).
   * A failure is rethrown, so the caller still answers it.
   */
  async carryOut<T>(
    actionId: string,
    action: () => Promise<T>,
    details?: (result: T) => Record<string, unknown>,
  ): Promise<T> {
    try {
      const result = await action();
      await this.addToDetails(actionId, { outcome: 'completed', ...details?.(result) });
      return result;
    } catch (error) {
      await this.addToDetails(actionId, {
        outcome: 'failed',
        error: String((error as Error).message ?? error).slice(0, 200),
      });
      throw error;
    }
  }

  /** Best effort: the row already says the action was taken, so failing to add its outcome is not the action failing. */
  private async addToDetails(actionId: string, details: Record<string, unknown>): Promise<void> {
    await this.pool
      .query(`UPDATE operator_actions SET details = details || $2::jsonb WHERE id = $1::text`, [
        actionId,
        JSON.stringify(details),
      ])
      .catch(() => undefined);
  }

  async list(
    filter: OperatorActionFilter,
    afterId: string | undefined,
    limit: number,
  ): Promise<Page<OperatorActionView>> {
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
