import { Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { WebhookSender } from '../../../libs/outbound/webhook-sender';
import { AppConfig } from '../../../libs/config/config';
import { APP_CONFIG, ConfigModule } from '../../../libs/config/config.module';
import { DatabaseModule } from '../../../libs/db/database.module';
import { loggerParams } from '../../../libs/observability/logging';
import { ApiMetrics } from '../../../libs/observability/metrics';
import { TracingModule } from '../../../libs/observability/tracing.module';
import { OutboundPolicy } from '../../../libs/outbound/address-policy';
import { TemporalClientModule } from '../../../libs/temporal/temporal-client.module';
import { ApiKeysController } from './api-keys/api-keys.controller';
import { ApiKeyGuard } from './auth/api-key.guard';
import { Authenticator } from './auth/authenticator';
import { ErrorFilter } from './common/error.filter';
import { DeadLettersController } from './dead-letters/dead-letters.controller';
import { DeadLettersService } from './dead-letters/dead-letters.service';
import { DeliveriesController } from './deliveries/deliveries.controller';
import { DeliveriesService } from './deliveries/deliveries.service';
import { EventTypesController } from './event-types/event-types.controller';
import { EventsController } from './events/events.controller';
import { EventsService } from './events/events.service';
import { PublishRateLimiter } from './events/publish-rate-limiter';
import { PublishService } from './events/publish.service';
import { WebhooksGrpcController } from './grpc/webhooks.grpc.controller';
import { HealthController } from './health/health.controller';
import { MetricsController } from './health/metrics.controller';
import { OperatorActionsController } from './operator-actions/operator-actions.controller';
import { PortalController } from './portal/portal.controller';
import { PortalSessionsController } from './portal-sessions/portal-sessions.controller';
import { SubscriptionsController } from './subscriptions/subscriptions.controller';
import { SubscriptionsService } from './subscriptions/subscriptions.service';

@Module({
  imports: [
    ConfigModule,
    LoggerModule.forRootAsync({ inject: [APP_CONFIG], useFactory: (config: AppConfig) => loggerParams(config, 'api') }),
    DatabaseModule,
    TemporalClientModule,
    TracingModule,
  ],
  controllers: [
    HealthController,
    MetricsController,
    EventTypesController,
    SubscriptionsController,
    EventsController,
    DeliveriesController,
    DeadLettersController,
    ApiKeysController,
    PortalSessionsController,
    PortalController,
    OperatorActionsController,
    WebhooksGrpcController,
  ],
  providers: [
    Authenticator,
    { provide: ApiMetrics, useFactory: () => new ApiMetrics() },
    SubscriptionsService,
    PublishService,
    PublishRateLimiter,
    EventsService,
    DeliveriesService,
    DeadLettersService,
    // Test sends go out through the same sender class as the worker's attempts, behind the same SSRF guard.
    { provide: WebhookSender, useFactory: (config: AppConfig) => new WebhookSender({ policy: new OutboundPolicy(config.outboundAllowlist), propagateTraceContext: config.tracing.propagateToReceivers }), inject: [APP_CONFIG] },
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_FILTER, useClass: ErrorFilter },
  ],
})
export class AppModule implements OnApplicationShutdown {
  constructor(private readonly sender: WebhookSender) {}

  async onApplicationShutdown(): Promise<void> {
    await this.sender.close();
  }
}
