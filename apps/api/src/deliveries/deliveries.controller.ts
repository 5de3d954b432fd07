import { applyDecorators, Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { DELIVERY_ID_PATTERN } from '../../../../libs/contracts/ids';
import { Caller } from '../auth/api-key.guard';
import { Principal } from '../auth/principal';
import { component, IdParam, Operation, Paged, QueryParam } from '../common/openapi';
import { pageRequest } from '../common/paging';
import { DeliveriesService } from './deliveries.service';
import {
  attemptSchema,
  cancelDeliverySchema,
  cancelRequestedSchema,
  deliveryDetailSchema,
  deliveryPageSchema,
  deliveryQuerySchemas,
  deliverySchema,
  deliveryStatusSchema,
  redrivenSchema,
  retryRequestedSchema,
} from './delivery.schemas';

component('Delivery', deliverySchema);
component('Attempt', attemptSchema);
component('DeliveryStatus', deliveryStatusSchema);
const DeliveryDetail = component('DeliveryDetail', deliveryDetailSchema);
const DeliveryPage = component('DeliveryPage', deliveryPageSchema);
const CancelRequested = component('CancelRequested', cancelRequestedSchema);
const RetryRequested = component('RetryRequested', retryRequestedSchema);
const Redriven = component('Redriven', redrivenSchema);

/** The filters of the delivery list (and, with reason and from/to, of the dead-letter list). */
export const DeliveryFilters = (): MethodDecorator =>
  applyDecorators(
    Paged({ tenant: true }),
    QueryParam('event_type', deliveryQuerySchemas.event_type),
    QueryParam('subscription_id', deliveryQuerySchemas.subscription_id),
  ) as MethodDecorator;

export const DeliveryId = () => IdParam('id', 'a delivery id (whdlv_…)', DELIVERY_ID_PATTERN);

@ApiTags('deliveries')
@Controller('v1/deliveries')
export class DeliveriesController {
  constructor(private readonly deliveries: DeliveriesService) {}

  @Get()
  @Operation({
    operationId: 'listDeliveries',
    summary: 'List deliveries, newest first, filtered',
    status: 200,
    response: DeliveryPage,
    errors: [400, 403],
  })
  @QueryParam('status', deliveryQuerySchemas.status)
  @DeliveryFilters()
  @QueryParam('from', deliveryQuerySchemas.from, 'created (published) at or after (RFC 3339)')
  @QueryParam('to', deliveryQuerySchemas.to, 'created (published) before (RFC 3339)')
  list(@Caller() caller: Principal, @Query() query: Record<string, string>) {
    return this.deliveries.list(this.deliveries.filterFromQuery(caller, query), pageRequest(query));
  }

  @Get(':id')
  @Operation({
    operationId: 'getDelivery',
    summary: 'Get a delivery: status, every attempt, next attempt time, failure reason',
    status: 200,
    response: DeliveryDetail,
    errors: [404],
  })
  @DeliveryId()
  get(@Caller() caller: Principal, @Param('id') id: string) {
    return this.deliveries.get(caller, id);
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @Operation({
    operationId: 'cancelDelivery',
    summary: 'Cancel a waiting or attempting delivery (signals its workflow)',
    status: 202,
    response: CancelRequested,
    body: { schema: cancelDeliverySchema, required: false, example: { reason: 'receiver retired' } },
    errors: [404, 409, 413, 415],
  })
  @DeliveryId()
  cancel(@Caller() caller: Principal, @Param('id') id: string, @Body() body: unknown) {
    return this.deliveries.cancel(caller, id, body);
  }

  @Post(':id/retry')
  @HttpCode(202)
  @Operation({
    operationId: 'retryDelivery',
    summary: 'Skip the wait: the next attempt starts now (signals its workflow)',
    status: 202,
    response: RetryRequested,
    errors: [404, 409],
  })
  @DeliveryId()
  retry(@Caller() caller: Principal, @Param('id') id: string) {
    return this.deliveries.retryNow(caller, id);
  }

  @Post(':id/resend')
  @HttpCode(202)
  @Operation({
    operationId: 'resendDelivery',
    summary: 'Resend an ended delivery (delivered included): a new run of attempts, numbered on from the last',
    status: 202,
    response: Redriven,
    errors: [404, 409],
  })
  @DeliveryId()
  resend(@Caller() caller: Principal, @Param('id') id: string) {
    return this.deliveries.resend(caller, id);
  }
}
