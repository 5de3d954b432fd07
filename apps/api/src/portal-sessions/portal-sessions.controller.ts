import { Controller, Delete, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AppConfig } from '../../../../libs/config/config';
import { APP_CONFIG } from '../../../../libs/config/config.module';
import { OperatorActionsRepository } from '../../../../libs/db/operator-actions.repository';
import { PortalSessionsRepository } from '../../../../libs/db/portal-sessions.repository';
import { Caller } from '../auth/api-key.guard';
import { Principal, refusePlatformTenant, requireApiKey, tenantFor } from '../auth/principal';
import { revokeCredential } from '../auth/revoke-credential';
import { component, IdParam, Operation } from '../common/openapi';
import { withinTenantQuota } from '../common/tenant-quota';
import { requireTenantQuota } from '../../../../libs/db/tenant-quotas';
import { PORTAL_SESSION_ID_PATTERN, TENANT_ID_PATTERN } from '../../../../libs/contracts/ids';
import { createdPortalSessionSchema } from './portal-session.schemas';

const CreatedPortalSession = component('CreatedPortalSession', createdPortalSessionSchema);
const TenantId = () => IdParam('tenantId', 'a tenant id', TENANT_ID_PATTERN);

/**
 * Portal sessions: a one-time URL into the tenant portal for one tenant, for an admin console to open. A service
 * key opens one for any tenant, a tenant key for its own; a portal session can neither open nor revoke one (it
 * ends itself with DELETE /portal/session).
 */
@ApiTags('portal-sessions')
@Controller('v1/tenants/:tenantId/portal-sessions')
export class PortalSessionsController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sessions: PortalSessionsRepository,
    private readonly operatorActions: OperatorActionsRepository,
  ) {}

  @Post()
  @Operation({
    operationId: 'createPortalSession',
    summary: 'Open a portal session for a tenant; answers its one-time URL (valid PORTAL_SESSION_TTL, exchanged once)',
    status: 201,
    response: CreatedPortalSession,
    links: { revokePortalSession: { tenantId: '$request.path.tenantId', sessionId: '$response.body#/id' } },
    errors: [403, 422],
  })
  @TenantId()
  async create(@Caller() caller: Principal, @Param('tenantId') tenantId: string) {
    requireApiKey(caller, 'opening a portal session');
    const tenant = tenantFor(caller, tenantId) as string;
    refusePlatformTenant(tenant, this.config.platformTenantId, 'portal');
    const created = await withinTenantQuota(() =>
      this.operatorActions.changeAndRecord(
        async (client) => {
          await requireTenantQuota(client, 'portal_sessions', tenant, this.config.quotas.portalSessions);
          return this.sessions.create(tenant, this.config.portal.sessionTtlMs, caller.actor, client);
        },
        (session) => ({
          tenantId: tenant,
          action: 'portal_session.create',
          targetType: 'portal_session',
          targetId: session.id,
          actor: caller.actor,
        }),
      ),
    );
    const { id, tenant_id, created_at, expires_at, token } = created!.result;
    return { id, tenant_id, url: `/portal/#token=${token}`, created_at, expires_at };
  }

  @Delete(':sessionId')
  @HttpCode(204)
  @Operation({
    operationId: 'revokePortalSession',
    summary: 'Revoke a portal session: its token is refused and its browser session ends',
    status: 204,
    errors: [403, 404],
  })
  @TenantId()
  @IdParam('sessionId', 'a portal session id (psn_…)', PORTAL_SESSION_ID_PATTERN)
  revoke(
    @Caller() caller: Principal,
    @Param('tenantId') tenantId: string,
    @Param('sessionId') sessionId: string,
  ): Promise<void> {
    requireApiKey(caller, 'revoking a portal session');
    return revokeCredential(
      this.operatorActions,
      caller,
      tenantId,
      { type: 'portal_session', id: sessionId },
      (tenant, id, client) => this.sessions.revoke(tenant, id, client),
    );
  }
}
