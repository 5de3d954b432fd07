import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { ApiErrors, JsonBody } from '../common/openapi';
import { pageRequest, requiredQueryText, TENANT_ID_PATTERN } from '../common/paging';
import { createSubscriptionSchema, updateSubscriptionSchema } from './subscription.schemas';
import { SubscriptionsService } from './subscriptions.service';

@ApiTags('subscriptions')
@Controller('v1/subscriptions')
export class SubscriptionsController {
  constructor(private readonly subscriptions: SubscriptionsService) {}

  @Post()
  @JsonBody(createSubscriptionSchema)
  @ApiErrors(400, 422)
  create(@Body() body: unknown) {
    return this.subscriptions.create(body);
  }

  @Get()
  @ApiQuery({ name: 'tenant_id', required: true })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiErrors(400)
  list(@Query() query: Record<string, string>) {
    const tenantId = requiredQueryText(query, 'tenant_id', TENANT_ID_PATTERN, 'must be a tenant id');
    return this.subscriptions.list(tenantId, pageRequest(query));
  }

  @Get(':id')
  @ApiErrors(404)
  get(@Param('id') id: string) {
    return this.subscriptions.get(id);
  }

  @Patch(':id')
  @JsonBody(updateSubscriptionSchema)
  @ApiErrors(400, 404, 422)
  update(@Param('id') id: string, @Body() body: unknown) {
    return this.subscriptions.update(id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiErrors(404)
  async delete(@Param('id') id: string): Promise<void> {
    await this.subscriptions.delete(id);
  }
}

