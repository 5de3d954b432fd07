import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { Caller } from '../auth/api-key.guard';
import { Principal } from '../auth/principal';
import { ApiErrors, JsonBody } from '../common/openapi';
import { listTenant, pageRequest } from '../common/paging';
import {
  createSubscriptionSchema,
  disableSubscriptionSchema,
  rotateSecretSchema,
  testSendSchema,
  updateSubscriptionSchema,
} from './subscription.schemas';
import { SubscriptionsService } from './subscriptions.service';

@ApiTags('subscriptions')
@Controller('v1/subscriptions')
export class SubscriptionsController {
  constructor(private readonly subscriptions: SubscriptionsService) {}

  @Post()
  @JsonBody(createSubscriptionSchema)
  @ApiErrors(400, 403, 422)
  create(@Caller() caller: Principal, @Body() body: unknown) {
    return this.subscriptions.create(caller, body);
  }

  @Get()
  @ApiQuery({ name: 'tenant_id', required: false, description: 'required with a service key' })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiErrors(400, 403)
  list(@Caller() caller: Principal, @Query() query: Record<string, string>) {
    return this.subscriptions.list(listTenant(caller, query, true) as string, pageRequest(query));
  }

  @Get(':id')
  @ApiErrors(404)
  get(@Caller() caller: Principal, @Param('id') id: string) {
    return this.subscriptions.get(caller, id);
  }

  @Patch(':id')
  @JsonBody(updateSubscriptionSchema)
  @ApiErrors(400, 404, 422)
  update(@Caller() caller: Principal, @Param('id') id: string, @Body() body: unknown) {
    return this.subscriptions.update(caller, id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiErrors(404)
  async delete(@Caller() caller: Principal, @Param('id') id: string): Promise<void> {
    await this.subscriptions.delete(caller, id);
  }

  @Post(':id/disable')
  @HttpCode(200)
  @JsonBody(disableSubscriptionSchema)
  @ApiErrors(400, 404)
  disable(@Caller() caller: Principal, @Param('id') id: string, @Body() body: unknown) {
    return this.subscriptions.disable(caller, id, body);
  }

  @Post(':id/enable')
  @HttpCode(200)
  @ApiErrors(404)
  enable(@Caller() caller: Principal, @Param('id') id: string) {
    return this.subscriptions.enable(caller, id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @JsonBody(rotateSecretSchema)
  @ApiErrors(400, 404)
  rotateSecret(@Caller() caller: Principal, @Param('id') id: string, @Body() body: unknown) {
    return this.subscriptions.rotateSecret(caller, id, body);
  }

  @Post(':id/test')
  @HttpCode(200)
  @JsonBody(testSendSchema)
  @ApiErrors(400, 404, 422)
  test(@Caller() caller: Principal, @Param('id') id: string, @Body() body: unknown) {
    return this.subscriptions.testSend(caller, id, body);
  }
}
