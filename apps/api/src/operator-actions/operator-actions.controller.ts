import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { OperatorActionsRepository } from '../../../../libs/db/operator-actions.repository';
import { Caller } from '../auth/api-key.guard';
import { listTenant, Principal } from '../auth/principal';
import { component, Operation, Paged, QueryParam } from '../common/openapi';
import { pageRequest, queryText } from '../common/paging';
import {
  OPERATOR_ACTION_PATTERN,
  operatorActionPageSchema,
  operatorActionQuerySchemas,
  TARGET_ID_PATTERN,
} from './operator-action.schemas';

const OperatorActionPage = component('OperatorActionPage', operatorActionPageSchema);

/** The audit log: every cancel, retry, redrive, rotation, disable, enable, delete and key change, with who and when. */
@ApiTags('operator-actions')
@Controller('v1/operator-actions')
export class OperatorActionsController {
  constructor(private readonly actions: OperatorActionsRepository) {}

  @Get()
  @Operation({
    operationId: 'listOperatorActions',
    summary: 'The audit log, newest first',
    status: 200,
    response: OperatorActionPage,
    errors: [400, 403],
  })
  @Paged({ tenant: true })
  @QueryParam('target_id', operatorActionQuerySchemas.target_id, 'a delivery, subscription, key or bulk redrive id')
  @QueryParam('action', operatorActionQuerySchemas.action, 'e.g. delivery.cancel, subscription.rotate_secret')
  list(@Caller() caller: Principal, @Query() query: Record<string, string>) {
    const page = pageRequest(query);
    return this.actions.list(
      {
        tenantId: listTenant(caller, query),
        targetId: queryText(query, 'target_id', TARGET_ID_PATTERN, 'must be an id'),
        action: queryText(query, 'action', OPERATOR_ACTION_PATTERN, 'must be an action name such as delivery.cancel'),
      },
      page.afterId,
      page.limit,
    );
  }
}
