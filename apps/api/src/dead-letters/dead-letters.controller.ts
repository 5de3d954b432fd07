import { Controller, HttpCode, Get, Param, Post, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { DeliveriesService } from '../deliveries/deliveries.service';
import { ApiErrors } from '../common/openapi';
import { pageRequest, queryText, TENANT_ID_PATTERN } from '../common/paging';

/** Dead letters are deliveries whose status is dead_lettered; each item's id is the delivery id redrive takes. */
@ApiTags('dead-letters')
@Controller('v1/dead-letters')
export class DeadLettersController {
  constructor(private readonly deliveries: DeliveriesService) {}

  @Get()
  @ApiQuery({ name: 'tenant_id', required: false })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiErrors(400)
  list(@Query() query: Record<string, string>) {
    const tenantId = queryText(query, 'tenant_id', TENANT_ID_PATTERN, 'must be a tenant id');
    return this.deliveries.list({ tenantId, status: 'dead_lettered' }, pageRequest(query));
  }

  @Post(':id/redrive')
  @HttpCode(202)
  @ApiErrors(404, 409)
  redrive(@Param('id') id: string) {
    return this.deliveries.redrive(id);
  }
}
