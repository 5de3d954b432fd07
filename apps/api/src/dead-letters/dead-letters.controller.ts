import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { Caller } from '../auth/api-key.guard';
import { Principal } from '../auth/principal';
import { ApiErrors, JsonBody } from '../common/openapi';
import { pageRequest } from '../common/paging';
import { DeliveriesService } from '../deliveries/deliveries.service';
import { deadLetterFilterSchema, DeadLettersService } from './dead-letters.service';

/** Dead letters are deliveries whose status is dead_lettered; each item's id is the delivery id redrive takes. */
@ApiTags('dead-letters')
@Controller('v1/dead-letters')
export class DeadLettersController {
  constructor(
    private readonly deadLetters: DeadLettersService,
    private readonly deliveries: DeliveriesService,
  ) {}

  @Get()
  @ApiQuery({ name: 'tenant_id', required: false })
  @ApiQuery({ name: 'subscription_id', required: false })
  @ApiQuery({ name: 'event_type', required: false })
  @ApiQuery({ name: 'reason', required: false })
  @ApiQuery({ name: 'from', required: false, description: 'dead-lettered at or after (RFC 3339)' })
  @ApiQuery({ name: 'to', required: false, description: 'dead-lettered before (RFC 3339)' })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiErrors(400, 403)
  list(@Caller() caller: Principal, @Query() query: Record<string, string>) {
    return this.deadLetters.list(this.deadLetters.filterFromQuery(caller, query), pageRequest(query));
  }

  @Post('redrive')
  @HttpCode(202)
  @JsonBody(deadLetterFilterSchema)
  @ApiErrors(400, 403)
  bulkRedrive(@Caller() caller: Principal, @Body() body: unknown) {
    return this.deadLetters.bulkRedrive(caller, body);
  }

  @Get('redrives/:id')
  @ApiErrors(404)
  bulkRedriveStatus(@Caller() caller: Principal, @Param('id') id: string) {
    return this.deadLetters.bulkRedriveStatus(caller, id);
  }

  @Post(':id/redrive')
  @HttpCode(202)
  @ApiErrors(404, 409)
  redrive(@Caller() caller: Principal, @Param('id') id: string) {
    return this.deliveries.redrive(caller, id);
  }
}
