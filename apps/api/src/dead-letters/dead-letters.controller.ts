import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { BULK_REDRIVE_ID_PATTERN } from '../../../../libs/contracts/ids';
import { Caller } from '../auth/api-key.guard';
import { Principal } from '../auth/principal';
import { component, IdParam, Operation, QueryParam } from '../common/openapi';
import { pageRequest } from '../common/paging';
import { DeliveryFilters, DeliveryId } from '../deliveries/deliveries.controller';
import { deliveryPageSchema, deliveryQuerySchemas, redrivenSchema } from '../deliveries/delivery.schemas';
import { bulkRedriveSchema, deadLetterFilterSchema } from './dead-letter.schemas';
import { DeadLettersService } from './dead-letters.service';

const BulkRedrive = component('BulkRedrive', bulkRedriveSchema);
const DeliveryPage = component('DeliveryPage', deliveryPageSchema);
const Redriven = component('Redriven', redrivenSchema);

/** Dead letters are deliveries whose status is dead_lettered; each item's id is the delivery id redrive takes. */
@ApiTags('dead-letters')
@Controller('v1/dead-letters')
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLettersService) {}

  @Get()
  @Operation({
    operationId: 'listDeadLetters',
    summary: 'List dead-lettered deliveries, newest first, filtered',
    status: 200,
    response: DeliveryPage,
    errors: [400, 403],
  })
  @DeliveryFilters()
  @QueryParam('reason', deadLetterFilterSchema.properties.reason)
  @QueryParam('from', deliveryQuerySchemas.from, 'dead-lettered at or after (RFC 3339)')
  @QueryParam('to', deliveryQuerySchemas.to, 'dead-lettered before (RFC 3339)')
  list(@Caller() caller: Principal, @Query() query: Record<string, string>) {
    return this.deadLetters.list(this.deadLetters.filterFromQuery(caller, query), pageRequest(query));
  }

  @Post('redrive')
  @HttpCode(202)
  @Operation({
    operationId: 'bulkRedriveDeadLetters',
    summary: 'Redrive every dead letter matching the filter, in the background; answers the job to poll',
    status: 202,
    response: BulkRedrive,
    links: { getBulkRedrive: { id: '$response.body#/id' } },
    body: { schema: deadLetterFilterSchema, required: false, example: { tenant_id: 'tnt_acme', reason: 'exhausted' } },
    errors: [400, 403, 413, 415],
  })
  bulkRedrive(@Caller() caller: Principal, @Body() body: unknown) {
    return this.deadLetters.bulkRedrive(caller, body);
  }

  @Get('redrives/:id')
  @Operation({
    operationId: 'getBulkRedrive',
    summary: 'Where a bulk redrive stands: matched, redriven, skipped, failed',
    status: 200,
    response: BulkRedrive,
    errors: [404],
  })
  @IdParam('id', 'a bulk redrive id (redrv_…)', BULK_REDRIVE_ID_PATTERN)
  bulkRedriveStatus(@Caller() caller: Principal, @Param('id') id: string) {
    return this.deadLetters.bulkRedriveStatus(caller, id);
  }

  @Post(':id/redrive')
  @HttpCode(202)
  @Operation({
    operationId: 'redriveDeadLetter',
    summary: 'Redrive one dead letter: a new run of its workflow with a fresh schedule',
    status: 202,
    response: Redriven,
    errors: [404, 409],
  })
  @DeliveryId()
  redrive(@Caller() caller: Principal, @Param('id') id: string) {
    return this.deadLetters.redrive(caller, id);
  }
}
