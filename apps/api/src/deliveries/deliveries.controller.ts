import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { DELIVERY_STATUSES, DeliveryStatus } from '../../../../libs/db/deliveries.repository';
import { Caller } from '../auth/api-key.guard';
import { Principal } from '../auth/principal';
import { ApiErrors, JsonBody } from '../common/openapi';
import { EVENT_TYPE_PATTERN, listTenant, pageRequest, queryText, SUBSCRIPTION_ID_PATTERN } from '../common/paging';
import { cancelDeliverySchema, DeliveriesService } from './deliveries.service';

const STATUS_PATTERN = new RegExp(`^(${DELIVERY_STATUSES.join('|')})$`);

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
    return this.deliveries.list(
      {
        tenantId: listTenant(caller, query, false),
        status: queryText(query, 'status', STATUS_PATTERN, `must be one of ${DELIVERY_STATUSES.join(', ')}`) as DeliveryStatus | undefined,
        eventType: queryText(query, 'event_type', EVENT_TYPE_PATTERN, 'must be a catalogue event type'),
        subscriptionId: queryText(query, 'subscription_id', SUBSCRIPTION_ID_PATTERN, 'must be a whsub_ id'),
      },
      pageRequest(query),
    );
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
