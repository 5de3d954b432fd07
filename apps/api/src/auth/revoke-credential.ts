import type { PoolClient } from 'pg';
import { OperatorActionsRepository } from '../../../../libs/db/operator-actions.repository';
import { ApiError } from '../common/api-error';
import { Principal, tenantFor } from './principal';

/**
 * Revokes a tenant's key or portal session and records the operator action in the same transaction; 404 when the tenant has no
 * such live credential.
 */
export async function revokeCredential(
  operatorActions: OperatorActionsRepository,
  caller: Principal,
  tenantId: string,
  target: { type: 'api_key' | 'portal_session'; id: string },
  revoke: (tenant: string, id: string, client: PoolClient) => Promise<boolean>,
): Promise<void> {
  const tenant = tenantFor(caller, tenantId) as string;
  const revoked = await operatorActions.changeAndRecord(
    async (client) => (await revoke(tenant, target.id, client)) || undefined,
    () => ({
      tenantId: tenant,
      action: `${target.type}.revoke`,
      targetType: target.type,
      targetId: target.id,
      actor: caller.actor,
    }),
  );
  if (!revoked) throw ApiError.notFound(target.type, target.id);
}
