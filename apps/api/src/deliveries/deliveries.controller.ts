import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { DELIVERY_STATUSES } from '../../../../libs/db/deliveries.repository';
import { Caller } from '../auth/api-key.guard';
import { Principal } from '../auth/principal';
import { ApiErrors, JsonBody } from '../common/openapi';
import { pageRequest } from '../common/paging';
import { cancelDeliverySchema, DeliveriesService } from './deliveries.service';


@ApiTags('deliveries')
@Controller('v1/deliveries')
export class DeliveriesController {
  constructor(private readonly deliveries: DeliveriesService) {}

  @Get()
  @ApiQuery({ name: 'tenant_id', required: false })
  @ApiQuery({ name: 'status', required: false, enum: DELIVERY_STATUSES })
  @ApiQuery({ name: 'event_type', required: false })
  @ApiQuery({ name: 'subscription_id', required: false })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiErrors(400, 403)
  list(@Caller() caller: Principal, @Query() query: Record<string, string>) {
    return this.deliveries.list(this.deliveries.filterFromQuery(caller, query), pageRequest(query));
  }

  @Get(':id')
  @ApiErrors(404)
  get(@Caller() caller: Principal, @Param('id') id: string) {
    return this.deliveries.get(caller, id);
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @JsonBody(cancelDeliverySchema)
  @ApiErrors(404, 409)
  cancel(@Caller() caller: Principal, @Param('id') id: string, @Body() body: unknown) {
    return this.deliveries.cancel(caller, id, body);
  }

  @Post(':id/retry')
  @HttpCode(202)
  @ApiErrors(404, 409)
  retry(@Caller() caller: Principal, @Param('id') id: string) {
    return this.deliveries.retryNow(caller, id);
  }
}
