import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../../../../libs/config/config';
import { APP_CONFIG } from '../../../../libs/config/config.module';
import { ApiKeysRepository, hashApiKey } from '../../../../libs/db/api-keys.repository';
import { PortalSessionsRepository } from '../../../../libs/db/portal-sessions.repository';
import { ApiError } from '../common/api-error';
import { ConcurrencyLimit } from '../common/concurrency-limit';
import { PORTAL_HEADER, portalCookie } from './portal-cookie';
import { Principal } from './principal';
import { UnknownKeys } from './unknown-keys';

/**
 * Postgres lookups of tenant keys at once, of the api's 20 pooled connections: a flood of made-up keys (each one
 * unknown, so the unknown-key cache cannot help) then waits here, not in the pool's queue in front of publishes.
 */
const KEY_LOOKUPS_AT_ONCE = 4;

/** What a REST request carries that may authenticate it; gRPC calls carry only `authorization`. */
export interface Credentials {
  authorization: string | undefined;
  cookie?: string;
  portalHeader?: string;
  /** Whether the request came over https (TRUST_PROXY decides whether a proxy's X-Forwarded-Proto counts). */
  secure?: boolean;
}

/**
 * Turns `Bearer <key>` into a principal, for REST and gRPC alike, or a REST request's portal cookie into its
 * tenant's principal. Keys are compared as SHA-256 digests looked up by value, so no comparison walks a secret
 * byte by byte, and no key is kept in memory or in the database in clear.
 */
@Injectable()
export class Authenticator {
  private readonly serviceKeys: ReadonlyMap<string, string>;
  private readonly unknownKeys: UnknownKeys;
  private readonly keyLookups = new ConcurrencyLimit(KEY_LOOKUPS_AT_ONCE);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly apiKeys: ApiKeysRepository,
    private readonly portalSessions: PortalSessionsRepository,
  ) {
    this.serviceKeys = new Map(
      config.apiKeys.map((key) => [hashApiKey(key), `service_key:${hashApiKey(key).slice(0, 8)}`]),
    );
    this.unknownKeys = new UnknownKeys(config.clientLimits.unknownKeyCacheMs);
  }

  async authenticate({ authorization, cookie, portalHeader, secure = false }: Credentials): Promise<Principal> {
    const session = authorization === undefined ? portalCookie(cookie, secure) : undefined;
    if (session !== undefined) return this.portalPrincipal(session, portalHeader);
    const match = typeof authorization === 'string' ? /^Bearer\s+(\S+)$/i.exec(authorization) : null;
    if (!match)
      throw new ApiError(HttpStatus.UNAUTHORIZED, 'unauthorized', 'send an API key as Authorization: Bearer <key>');
    const digest = hashApiKey(match[1]);
    const service = this.serviceKeys.get(digest);
    if (service !== undefined) return { kind: 'service', actor: service };
    const tenantKey = this.unknownKeys.has(digest)
      ? undefined
      : await this.keyLookups.run(() => this.apiKeys.findActive(digest));
    if (tenantKey?.tenant_id === this.config.platformTenantId) {
      // A key made before the platform tenant was reserved: its subscriptions see every tenant's operational events.
      throw new ApiError(
        HttpStatus.FORBIDDEN,
        'service_key_required',
        `the platform tenant ${tenantKey.tenant_id} is managed with service keys only; its tenant keys are not accepted`,
      );
    }
    if (tenantKey)
      return {
        kind: 'tenant',
        tenantId: tenantKey.tenant_id,
        via: 'api_key',
        credentialId: tenantKey.id,
        actor: `tenant_key:${tenantKey.id}`,
      };
    this.unknownKeys.add(digest);
    throw new ApiError(HttpStatus.UNAUTHORIZED, 'unauthorized', 'the API key is not valid (or was revoked)');
  }

  /**
   * The cookie counts only with the portal's custom header: a page of another origin can make a browser send the
   * cookie (SameSite=Strict already stops that across sites), but not add a header without a CORS preflight,
   * which this API never grants.
   */
  private async portalPrincipal(secret: string, portalHeader: string | undefined): Promise<Principal> {
    if (portalHeader !== '1') {
      throw new ApiError(
        HttpStatus.UNAUTHORIZED,
        'portal_header_required',
        `a portal session cookie counts only with the ${PORTAL_HEADER}: 1 header`,
      );
    }
    const session = await this.portalSessions.findActive(secret);
    if (!session)
      throw new ApiError(
        HttpStatus.UNAUTHORIZED,
        'portal_session_ended',
        'the portal session expired or was revoked; open a new one from the admin console',
      );
    return {
      kind: 'tenant',
      tenantId: session.tenant_id,
      via: 'portal_session',
      credentialId: session.id,
      actor: `portal_session:${session.id}`,
    };
  }
}
