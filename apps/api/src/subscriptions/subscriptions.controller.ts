import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Caller } from '../auth/api-key.guard';
import { listTenant, Principal } from '../auth/principal';
import { component, IdParam, Operation, Paged } from '../common/openapi';
import { SUBSCRIPTION_ID_PATTERN } from '../../../../libs/contracts/ids';
import { pageRequest } from '../common/paging';
import { pageOf } from '../common/schema-parts';
import { withCatalogue } from '../event-types/event-type.schemas';
import {
  attemptStatsSchema,
  blockedKeysSchema,
  createdSubscriptionSchema,
  createSubscriptionSchema,
  disableSubscriptionSchema,
  rotatedSecretSchema,
  rotateSecretSchema,
  subscriptionSchema,
  testSendResultSchema,
  testSendSchema,
  updateSubscriptionSchema,
} from './subscription.schemas';

const Subscription = component('Subscription', subscriptionSchema);
const CreatedSubscription = component('CreatedSubscription', createdSubscriptionSchema);
const SubscriptionPage = component('SubscriptionPage', pageOf(subscriptionSchema));
const RotatedSecret = component('RotatedSecret', rotatedSecretSchema);
const TestSendResult = component('TestSendResult', testSendResultSchema);
const AttemptStats = component('AttemptStats', attemptStatsSchema);
const BlockedKeys = component('BlockedKeys', blockedKeysSchema);
const SubscriptionId = () => IdParam('id', 'a subscription id (whsub_…)', SUBSCRIPTION_ID_PATTERN);
import { SubscriptionsService } from './subscriptions.service';
import { TestSendService } from './test-send.service';

@ApiTags('subscriptions')
@Controller('v1/subscriptions')
export class SubscriptionsController {
  constructor(
    private readonly subscriptions: SubscriptionsService,
    private readonly testSends: TestSendService,
  ) {}

  @Post()
  @Operation({
    operationId: 'createSubscription',
    summary: 'Subscribe a URL to event types; answers the signing secret, once',
    status: 201,
    response: CreatedSubscription,
    links: Object.fromEntries(
      [
        'getSubscription',
        'getSubscriptionAttemptStats',
        'listSubscriptionBlockedKeys',
        'updateSubscription',
        'deleteSubscription',
        'rotateSubscriptionSecret',
        'testSubscription',
      ].map((operationId) => [operationId, { id: '$response.body#/id' }]),
    ),
    body: {
      // tenant_id is required here although a tenant key may leave it out (its own tenant): a client following
      // the document always names the tenant, and a service key must.
      schema: {
        ...withCatalogue(createSubscriptionSchema),
        required: ['tenant_id', ...createSubscriptionSchema.required],
      },
      required: true,
      example: {
        tenant_id: 'tnt_acme',
        url: 'https://crm.example.com/hooks/intelliauth',
        event_types: ['user.*', 'security.*'],
        description: 'CRM sync',
        max_in_flight: 5,
      },
    },
    errors: [400, 403, 413, 415, 422],
  })
  create(@Caller() caller: Principal, @Body() body: unknown) {
    return this.subscriptions.create(caller, body);
  }

  @Get()
  @Operation({
    operationId: 'listSubscriptions',
    summary: 'List subscriptions, newest first (a service key sees every tenant unless tenant_id is given)',
    status: 200,
    response: SubscriptionPage,
    errors: [400, 403],
  })
  @Paged({ tenant: true })
  list(@Caller() caller: Principal, @Query() query: Record<string, string>) {
    return this.subscriptions.list(listTenant(caller, query), pageRequest(query));
  }

  @Get(':id')
  @Operation({
    operationId: 'getSubscription',
    summary: 'Get a subscription (never its secret)',
    status: 200,
    response: Subscription,
    errors: [404],
  })
  @SubscriptionId()
  get(@Caller() caller: Principal, @Param('id') id: string) {
    return this.subscriptions.get(caller, id);
  }

  @Get(':id/attempt-stats')
  @Operation({
    operationId: 'getSubscriptionAttemptStats',
    summary: "A subscription's attempts per hour over the last 24 h, by outcome",
    status: 200,
    response: AttemptStats,
    errors: [404],
  })
  @SubscriptionId()
  attemptStats(@Caller() caller: Principal, @Param('id') id: string) {
    return this.subscriptions.attemptStats(caller, id);
  }

  @Get(':id/blocked-keys')
  @Operation({
    operationId: 'listSubscriptionBlockedKeys',
    summary:
      "An ordered subscription's keys whose next deliveries wait for an earlier one (the head) to end, and since when",
    status: 200,
    response: BlockedKeys,
    errors: [404],
  })
  @SubscriptionId()
  blockedKeys(@Caller() caller: Principal, @Param('id') id: string) {
    return this.subscriptions.blockedKeys(caller, id);
  }

  @Patch(':id')
  @Operation({
    operationId: 'updateSubscription',
    summary: 'Change url, event_types, enabled, description, max_in_flight, max_per_second or ordering',
    status: 200,
    response: Subscription,
    body: { schema: withCatalogue(updateSubscriptionSchema), required: true, example: { event_types: ['*'] } },
    errors: [404, 413, 415, 422],
  })
  @SubscriptionId()
  update(@Caller() caller: Principal, @Param('id') id: string, @Body() body: unknown) {
    return this.subscriptions.update(caller, id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @Operation({
    operationId: 'deleteSubscription',
    summary: 'Delete a subscription; its waiting deliveries end as dead letters (subscription_deleted)',
    status: 204,
    errors: [404],
  })
  @SubscriptionId()
  async delete(@Caller() caller: Principal, @Param('id') id: string): Promise<void> {
    await this.subscriptions.delete(caller, id);
  }

  @Post(':id/disable')
  @HttpCode(200)
  @Operation({
    operationId: 'disableSubscription',
    summary: 'Disable: no new deliveries, and the waiting ones end as dead letters (subscription_disabled)',
    status: 200,
    response: Subscription,
    body: { schema: disableSubscriptionSchema, required: false, example: { reason: 'receiver retired' } },
    errors: [404, 413, 415],
  })
  @SubscriptionId()
  disable(@Caller() caller: Principal, @Param('id') id: string, @Body() body: unknown) {
    return this.subscriptions.disable(caller, id, body);
  }

  @Post(':id/enable')
  @HttpCode(200)
  @Operation({
    operationId: 'enableSubscription',
    summary: 'Enable again (dead letters stay until redriven)',
    status: 200,
    response: Subscription,
    errors: [404],
  })
  @SubscriptionId()
  enable(@Caller() caller: Principal, @Param('id') id: string) {
    return this.subscriptions.enable(caller, id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @Operation({
    operationId: 'rotateSubscriptionSecret',
    summary: 'A new signing secret, answered once; the previous ones keep signing for the grace period',
    status: 200,
    response: RotatedSecret,
    body: { schema: rotateSecretSchema, required: false, example: { grace_period_seconds: 86400 } },
    errors: [404, 413, 415, 422, 429],
  })
  @SubscriptionId()
  rotateSecret(@Caller() caller: Principal, @Param('id') id: string, @Body() body: unknown) {
    return this.subscriptions.rotateSecret(caller, id, body);
  }

  @Post(':id/test')
  @HttpCode(200)
  @Operation({
    operationId: 'testSubscription',
    summary: 'Send a signed example of an event type through the delivery path and answer what the receiver did',
    status: 200,
    response: TestSendResult,
    body: { schema: withCatalogue(testSendSchema), required: true, example: { event_type: 'user.signed_up' } },
    errors: [404, 413, 415, 422, 429],
  })
  @SubscriptionId()
  test(@Caller() caller: Principal, @Param('id') id: string, @Body() body: unknown) {
    return this.testSends.send(caller, id, body);
  }
}
