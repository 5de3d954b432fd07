import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../../../../libs/config/config';
import { APP_CONFIG } from '../../../../libs/config/config.module';
import { ApiKeysRepository, hashApiKey } from '../../../../libs/db/api-keys.repository';
import { ApiError } from '../common/api-error';
import { Principal } from './principal';

/**
 * Turns `Bearer <key>` into a principal, for REST and gRPC alike. Keys are compared as SHA-256 digests looked up by
 * value, so no comparison walks a secret byte by byte, and no key is kept in memory or in the database in clear.
 */
@Injectable()
export class Authenticator {
  private readonly serviceKeys: ReadonlyMap<string, string>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly apiKeys: ApiKeysRepository,
  ) {
    this.serviceKeys = new Map(config.apiKeys.map((key) => [hashApiKey(key), `service_key:${hashApiKey(key).slice(0, 8)}`]));
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const match = typeof authorization === 'string' ? /^Bearer\s+(\S+)$/i.exec(authorization) : null;
    if (!match) throw new ApiError(HttpStatus.UNAUTHORIZED, 'unauthorized', 'send an API key as Authorization: Bearer <key>');
    const digest = hashApiKey(match[1]);
    const service = this.serviceKeys.get(digest);
    if (service !== undefined) return { kind: 'service', actor: service };
    const tenantKey = await this.apiKeys.findActive(digest);
    if (tenantKey?.tenant_id === this.config.platformTenantId) {
      // A key made before the platform tenant was reserved: its subscriptions see every tenant's operational events.
      throw new ApiError(HttpStatus.FORBIDDEN, 'service_key_required', `the platform tenant ${tenantKey.tenant_id} is managed with service keys only; its tenant keys are not accepted`);
    }
    if (tenantKey) return { kind: 'tenant', tenantId: tenantKey.tenant_id, keyId: tenantKey.id, actor: `tenant_key:${tenantKey.id}` };
    throw new ApiError(HttpStatus.UNAUTHORIZED, 'unauthorized', 'the API key is not valid (or was revoked)');
  }
}
