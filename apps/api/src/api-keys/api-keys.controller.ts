import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { AppConfig } from '../../../../libs/config/config';
import { APP_CONFIG } from '../../../../libs/config/config.module';
import { ApiTags } from '@nestjs/swagger';
import { ApiKeysRepository } from '../../../../libs/db/api-keys.repository';
import { OperatorActionsRepository } from '../../../../libs/db/operator-actions.repository';
import { Caller } from '../auth/api-key.guard';
import { Principal, refusePlatformTenant, requireApiKey, tenantFor } from '../auth/principal';
import { revokeCredential } from '../auth/revoke-credential';
import { component, IdParam, Operation } from '../common/openapi';
import { API_KEY_ID_PATTERN, TENANT_ID_PATTERN } from '../../../../libs/contracts/ids';
import { withinTenantQuota } from '../common/tenant-quota';
import { BodyValidator } from '../common/validation';
import { requireTenantQuota } from '../../../../libs/db/tenant-quotas';
import { apiKeyListSchema, apiKeySchema, createdApiKeySchema, createKeySchema } from './api-key.schemas';

component('ApiKey', apiKeySchema);
const CreatedApiKey = component('CreatedApiKey', createdApiKeySchema);
const ApiKeyList = component('ApiKeyList', apiKeyListSchema);
const TenantId = () => IdParam('tenantId', 'a tenant id', TENANT_ID_PATTERN);
const createKeyValidator = BodyValidator.of(createKeySchema);

/**
 * Tenant-scoped API keys. A service key manages any tenant's keys; a tenant key manages its own tenant's (so a
 * tenant can rotate its keys without an operator); a portal session, which a browser holds, manages none. The key
 * is shown once, at creation; only its hash is kept.
 */
@ApiTags('api-keys')
@Controller('v1/tenants/:tenantId/api-keys')
export class ApiKeysController {
  constructor(
    private readonly apiKeys: ApiKeysRepository,
    private readonly operatorActions: OperatorActionsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post()
  @Operation({
    operationId: 'createApiKey',
    summary: 'Create a tenant key; answers the key, once',
    status: 201,
    response: CreatedApiKey,
    links: { revokeApiKey: { tenantId: '$request.path.tenantId', keyId: '$response.body#/id' } },
    body: { schema: createKeySchema, required: false, example: { name: 'admin console' } },
    errors: [403, 413, 415, 422],
  })
  @TenantId()
  async create(@Caller() caller: Principal, @Param('tenantId') tenantId: string, @Body() body: unknown) {
    requireApiKey(caller, 'creating a tenant key');
    const tenant = tenantFor(caller, tenantId) as string;
    refusePlatformTenant(tenant, this.config.platformTenantId, 'tenant keys');
    const { name } = createKeyValidator.parseOptional(body);
    const created = await withinTenantQuota(() =>
      this.operatorActions.changeAndRecord(
        async (client) => {
          await requireTenantQuota(client, 'api_keys', tenant, this.config.quotas.apiKeys);
          return this.apiKeys.create(tenant, name ?? null, caller.actor, client);
        },
        (key) => ({
          tenantId: tenant,
          action: 'api_key.create',
          targetType: 'api_key',
          targetId: key.id,
          actor: caller.actor,
          details: { prefix: key.prefix },
        }),
      ),
    );
    return created!.result;
  }

  @Get()
  @Operation({
    operationId: 'listApiKeys',
    summary: "List a tenant's keys (prefixes only, never a key)",
    status: 200,
    response: ApiKeyList,
    errors: [403],
  })
  @TenantId()
  list(@Caller() caller: Principal, @Param('tenantId') tenantId: string) {
    requireApiKey(caller, "listing a tenant's keys");
    return this.apiKeys.list(tenantFor(caller, tenantId) as string).then((data) => ({ data }));
  }

  @Delete(':keyId')
  @HttpCode(204)
  @Operation({ operationId: 'revokeApiKey', summary: 'Revoke a tenant key', status: 204, errors: [403, 404] })
  @TenantId()
  @IdParam('keyId', 'a key id (key_…)', API_KEY_ID_PATTERN)
  revoke(
    @Caller() caller: Principal,
    @Param('tenantId') tenantId: string,
    @Param('keyId') keyId: string,
  ): Promise<void> {
    requireApiKey(caller, 'revoking a tenant key');
    return revokeCredential(
      this.operatorActions,
      caller,
      tenantId,
      { type: 'api_key', id: keyId },
      (tenant, id, client) => this.apiKeys.revoke(tenant, id, client),
    );
  }
}
