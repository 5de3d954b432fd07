import { HttpStatus } from '@nestjs/common';
import type { TenantScope } from '../../../../libs/db/rows';
import { TENANT_ID_PATTERN } from '../../../../libs/contracts/ids';
import { ApiError } from '../common/api-error';
import { queryText } from '../common/paging';

/**
 * Who is calling. Service keys (configuration) act for every tenant; a tenant key sees and changes only its own
 * tenant's subscriptions, events, deliveries, dead letters and keys, and does not publish. A portal session (the
 * tenant portal's cookie) acts like its tenant's key, except that it cannot manage credentials (create, list or
 * revoke keys and sessions): those stay with whoever holds a key.
 */
export type Principal =
  | { kind: 'service'; actor: string }
  | { kind: 'tenant'; tenantId: string; via: 'api_key' | 'portal_session'; credentialId: string; actor: string };

/** The tenant a query is limited to: none for service keys, the key's own for tenant keys. */
export function scopeOf(principal: Principal): TenantScope {
  return principal.kind === 'tenant' ? principal.tenantId : undefined;
}

/**
 * A tenant id named in a body or query: a tenant key may name only its own (and may leave it out); a service key
 * names whichever it acts for.
 */
export function tenantFor(principal: Principal, requested: string | undefined): string | undefined {
  if (principal.kind === 'service') return requested;
  if (requested !== undefined && requested !== principal.tenantId) {
    throw new ApiError(
      HttpStatus.FORBIDDEN,
      'permission_denied',
      `this key belongs to tenant ${principal.tenantId}; name that tenant or leave tenant_id out`,
    );
  }
  return principal.tenantId;
}

/** The tenant a body creates something for: tenantFor, where a service key must name one. */
export function tenantToCreateFor(principal: Principal, requested: string | undefined): string {
  const tenantId = tenantFor(principal, requested);
  if (tenantId === undefined) {
    throw new ApiError(
      HttpStatus.BAD_REQUEST,
      'validation_failed',
      'the request body is invalid: tenant_id is required with a service key',
      [{ field: 'tenant_id', problem: 'is required' }],
    );
  }
  return tenantId;
}

/** The tenant a list is limited to: the `tenant_id` parameter for service keys (every tenant without it), the key's own for tenant keys. */
export function listTenant(principal: Principal, query: Record<string, unknown>): string | undefined {
  return tenantFor(principal, queryText(query, 'tenant_id', TENANT_ID_PATTERN, 'must be a tenant id'));
}

export function requireServiceKey(principal: Principal, what: string): void {
  if (principal.kind !== 'service') {
    throw new ApiError(
      HttpStatus.FORBIDDEN,
      'service_key_required',
      `${what} needs a service key; tenant keys cannot do it`,
    );
  }
}

/**
 * Keys and portal sessions are credentials: a portal session, which a browser holds, may not create, list or revoke
 * them, so a stolen or forgotten browser session cannot mint a lasting key nor lock the tenant out of its own.
 */
export function requireApiKey(principal: Principal, what: string): void {
  if (principal.kind === 'tenant' && principal.via === 'portal_session') {
    throw new ApiError(
      HttpStatus.FORBIDDEN,
      'api_key_required',
      `${what} needs a service key or a tenant key; a portal session cannot do it`,
    );
  }
}

/**
 * The platform tenant's subscriptions receive every tenant's operational events: it is managed with service keys
 * only, so it has no tenant credentials (keys, portal sessions).
 */
export function refusePlatformTenant(tenantId: string, platformTenantId: string, what: string): void {
  if (tenantId === platformTenantId) {
    throw new ApiError(
      HttpStatus.UNPROCESSABLE_ENTITY,
      'platform_tenant',
      `${tenantId} is the platform tenant, whose subscriptions receive every tenant's operational events: ` +
        `it is managed with service keys only, and has no ${what}`,
    );
  }
}
