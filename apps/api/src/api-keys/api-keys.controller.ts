import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiKeysRepository } from '../../../../libs/db/api-keys.repository';
import { OperatorActionsRepository } from '../../../../libs/db/operator-actions.repository';
import { Caller } from '../auth/api-key.guard';
import { Principal, tenantFor } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { ApiErrors, JsonBody } from '../common/openapi';
import { BodyValidator } from '../common/validation';

const createKeySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1, maxLength: 200, description: 'what the key is for' } },
} as const;
const createKeyValidator = new BodyValidator<{ name?: string }>(createKeySchema);

/**
 * Tenant-scoped API keys. A service key manages any tenant's keys; a tenant key manages its own tenant's (so a
 * tenant can rotate its keys without an operator). The key is shown once, at creation; only its hash is kept.
 */
@ApiTags('api-keys')
@Controller('v1/tenants/:tenantId/api-keys')
export class ApiKeysController {
  constructor(
    private readonly apiKeys: ApiKeysRepository,
    private readonly audit: OperatorActionsRepository,
  ) {}

  @Post()
  @JsonBody(createKeySchema)
  @ApiErrors(400, 403)
  async create(@Caller() caller: Principal, @Param('tenantId') tenantId: string, @Body() body: unknown) {
    const tenant = tenantFor(caller, tenantId) as string;
    const { name } = createKeyValidator.parse(body ?? {});
    const created = await this.apiKeys.create(tenant, name ?? null, caller.actor);
    await this.audit.record({ tenantId: tenant, action: 'api_key.create', targetType: 'api_key', targetId: created.id, actor: caller.actor, details: { prefix: created.prefix } });
    return created;
  }

  @Get()
  @ApiErrors(403)
  list(@Caller() caller: Principal, @Param('tenantId') tenantId: string) {
    return this.apiKeys.list(tenantFor(caller, tenantId) as string).then((data) => ({ data }));
  }

  @Delete(':keyId')
  @HttpCode(204)
  @ApiErrors(403, 404)
  async revoke(@Caller() caller: Principal, @Param('tenantId') tenantId: string, @Param('keyId') keyId: string): Promise<void> {
    const tenant = tenantFor(caller, tenantId) as string;
    if (!(await this.apiKeys.revoke(tenant, keyId))) throw ApiError.notFound('api_key', keyId);
    await this.audit.record({ tenantId: tenant, action: 'api_key.revoke', targetType: 'api_key', targetId: keyId, actor: caller.actor });
  }
}
