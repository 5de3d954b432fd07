import { PoolClient } from 'pg';

/** What a tenant may hold only so many of. */
export type TenantQuota = 'subscriptions' | 'api_keys' | 'portal_sessions' | 'running_replays';

/** What counts against each quota: what is still live (a deleted subscription, a revoked key, an ended session do not). */
const LIVE_COUNT: Record<TenantQuota, string> = {
  // A listen session past its end counts no more, though its row waits for the sweep that ends it.
  subscriptions: `SELECT count(*)::int AS n FROM subscriptions
                   WHERE tenant_id = $1::text AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
  api_keys: `SELECT count(*)::int AS n FROM api_keys WHERE tenant_id = $1::text AND revoked_at IS NULL`,
  portal_sessions: `SELECT count(*)::int AS n FROM portal_sessions
                     WHERE tenant_id = $1::text AND revoked_at IS NULL AND expires_at > now()`,
  running_replays: `SELECT count(*)::int AS n FROM bulk_redrives WHERE tenant_id = $1::text AND kind = 'replay' AND status = 'running'`,
};

export class TenantQuotaExceeded extends Error {
  constructor(
    readonly quota: TenantQuota,
    readonly tenantId: string,
    readonly limit: number,
  ) {
    super(`tenant ${tenantId} holds its ${limit} ${quota}`);
    this.name = 'TenantQuotaExceeded';
  }
}

/**
 * Run inside the transaction that creates one more: throws TenantQuotaExceeded when the tenant already holds
 * `limit` (0: no limit). A transaction-scoped advisory lock on (quota, tenant) makes a tenant's creations of one
 * kind take turns until commit, so two at once cannot both see limit - 1; other tenants never wait on it.
 */
export async function requireTenantQuota(
  client: PoolClient,
  quota: TenantQuota,
  tenantId: string,
  limit: number,
): Promise<void> {
  if (limit === 0) return;
  await client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))`, [`quota:${quota}:${tenantId}`]);
  const { rows } = await client.query<{ n: number }>(LIVE_COUNT[quota], [tenantId]);
  if (rows[0].n >= limit) throw new TenantQuotaExceeded(quota, tenantId, limit);
}
