import { Pool } from 'pg';
import { Page, toPage } from './page';

export interface SubscriptionView {
  id: string;
  tenant_id: string;
  url: string;
  event_types: string[];
  description: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

/** What an attempt needs: where to send and with which secrets; deleted rows included so the attempt can stop cleanly. */
export interface SubscriptionTarget {
  id: string;
  url: string;
  enabled: boolean;
  deleted: boolean;
  signingSecrets: string[];
}

export interface NewSubscription {
  id: string;
  tenantId: string;
  url: string;
  eventTypes: string[];
  description: string | null;
  signingSecret: string;
}

export interface SubscriptionChanges {
  url?: string;
  eventTypes?: string[];
  description?: string | null;
  enabled?: boolean;
}

const VIEW_COLUMNS = 'id, tenant_id, url, event_types, description, enabled, disabled_reason, created_at, updated_at';

export class SubscriptionsRepository {
  constructor(private readonly pool: Pool) {}

  async create(subscription: NewSubscription): Promise<SubscriptionView> {
    const { rows } = await this.pool.query<SubscriptionView>(
      `INSERT INTO subscriptions (id, tenant_id, url, event_types, description, signing_secret)
       VALUES ($1::text, $2::text, $3::text, $4::text[], $5::text, $6::text)
       RETURNING ${VIEW_COLUMNS}`,
      [subscription.id, subscription.tenantId, subscription.url, subscription.eventTypes, subscription.description, subscription.signingSecret],
    );
    return rows[0];
  }

  async get(id: string): Promise<SubscriptionView | undefined> {
    const { rows } = await this.pool.query<SubscriptionView>(
      `SELECT ${VIEW_COLUMNS} FROM subscriptions WHERE id = $1::text AND deleted_at IS NULL`,
      [id],
    );
    return rows[0];
  }

  async listByTenant(tenantId: string, afterId: string | undefined, limit: number): Promise<Page<SubscriptionView>> {
    const { rows } = await this.pool.query<SubscriptionView>(
      `SELECT ${VIEW_COLUMNS} FROM subscriptions
        WHERE tenant_id = $1::text AND deleted_at IS NULL AND ($2::text IS NULL OR id < $2::text)
        ORDER BY id DESC LIMIT $3::int`,
      [tenantId, afterId ?? null, limit + 1],
    );
    return toPage(rows, limit);
  }

  async update(id: string, changes: SubscriptionChanges): Promise<SubscriptionView | undefined> {
    const { rows } = await this.pool.query<SubscriptionView>(
      `UPDATE subscriptions SET
          url = COALESCE($2::text, url),
          event_types = COALESCE($3::text[], event_types),
          description = CASE WHEN $4::boolean THEN $5::text ELSE description END,
          enabled = COALESCE($6::boolean, enabled),
          disabled_reason = CASE WHEN $6::boolean IS NULL THEN disabled_reason
                                 WHEN $6::boolean THEN NULL ELSE 'disabled_by_operator' END,
          updated_at = now()
        WHERE id = $1::text AND deleted_at IS NULL
        RETURNING ${VIEW_COLUMNS}`,
      [
        id,
        changes.url ?? null,
        changes.eventTypes ?? null,
        changes.description !== undefined,
        changes.description ?? null,
        changes.enabled ?? null,
      ],
    );
    return rows[0];
  }

  async softDelete(id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE subscriptions SET deleted_at = now(), enabled = false, disabled_reason = 'deleted', updated_at = now()
        WHERE id = $1::text AND deleted_at IS NULL`,
      [id],
    );
    return rowCount === 1;
  }

  async target(id: string): Promise<SubscriptionTarget | undefined> {
    const { rows } = await this.pool.query<{ id: string; url: string; enabled: boolean; deleted: boolean; signing_secret: string }>(
      `SELECT id, url, enabled, deleted_at IS NOT NULL AS deleted, signing_secret FROM subscriptions WHERE id = $1::text`,
      [id],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return { id: row.id, url: row.url, enabled: row.enabled, deleted: row.deleted, signingSecrets: [row.signing_secret] };
  }
}
