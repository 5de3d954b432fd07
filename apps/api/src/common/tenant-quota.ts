import { HttpStatus } from '@nestjs/common';
import { TenantQuota, TenantQuotaExceeded } from '../../../../libs/db/tenant-quotas';
import { ApiError } from './api-error';

const QUOTAS: Record<TenantQuota, { variable: string; what: string; remedy: string }> = {
  subscriptions: {
    variable: 'TENANT_MAX_SUBSCRIPTIONS',
    what: 'subscriptions',
    remedy: 'delete one it no longer needs (a subscription takes several event types)',
  },
  api_keys: { variable: 'TENANT_MAX_API_KEYS', what: 'active tenant keys', remedy: 'revoke one it no longer uses' },
  portal_sessions: {
    variable: 'TENANT_MAX_PORTAL_SESSIONS',
    what: 'live portal sessions',
    remedy: 'revoke one, or wait for one to expire',
  },
  running_replays: {
    variable: 'TENANT_MAX_RUNNING_REPLAYS',
    what: 'replays running',
    remedy: 'wait for one to complete (GET /v1/replays/{id})',
  },
};

/** Runs `create`; a tenant quota it hits becomes 422 `quota_exceeded`, naming the limit and the variable that sets it. */
export async function withinTenantQuota<T>(create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (error) {
    if (!(error instanceof TenantQuotaExceeded)) throw error;
    const { variable, what, remedy } = QUOTAS[error.quota];
    throw new ApiError(
      HttpStatus.UNPROCESSABLE_ENTITY,
      'quota_exceeded',
      `tenant ${error.tenantId} already has ${error.limit} ${what}, its limit (${variable}=${error.limit}); ` +
        `${remedy}, or ask the operator to raise ${variable}`,
      { quota: error.quota, limit: error.limit },
    );
  }
}
