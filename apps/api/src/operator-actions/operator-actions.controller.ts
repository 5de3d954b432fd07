import { Controller, Get, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { OperatorActionsRepository } from '../../../../libs/db/operator-actions.repository';
import { Caller } from '../auth/api-key.guard';
import { Principal } from '../auth/principal';
import { ApiErrors } from '../common/openapi';
import { listTenant, pageRequest, queryText } from '../common/paging';

/** The audit log: every cancel, retry, redrive, rotation, disable, enable, delete and key change, with who and when. */
@ApiTags('operator-actions')
@Controller('v1/operator-actions')
export class OperatorActionsController {
  constructor(private readonly actions: OperatorActionsRepository) {}

  @Get()
  @ApiQuery({ name: 'tenant_id', required: false })
  @ApiQuery({ name: 'target_id', required: false, description: 'a delivery, subscription, key or bulk redrive id' })
  @ApiQuery({ name: 'action', required: false, description: 'e.g. delivery.cancel, subscription.rotate_secret' })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiErrors(400, 403)
  list(@Caller() caller: Principal, @Query() query: Record<string, string>) {
    const page = pageRequest(query);
    return this.actions.list(
      {
        tenantId: listTenant(caller, query, false),
        targetId: queryText(query, 'target_id', /^[a-z_]+_[0-9A-Za-z_]{1,64}$/, 'must be an id'),
        action: queryText(query, 'action', /^[a-z_]+\.[a-z_]+$/, 'must be an action name such as delivery.cancel'),
      },
      page.afterId,
      page.limit,
    );
  }
}
