import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../../../libs/config/config';
import { APP_CONFIG, ConfigModule } from '../../../libs/config/config.module';
import { DatabaseModule } from '../../../libs/db/database.module';
import { loggerParams } from '../../../libs/observability/logging';
import { TracingModule } from '../../../libs/observability/tracing.module';
import { TemporalClientModule } from '../../../libs/temporal/temporal-client.module';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuthModule } from './auth/auth.module';
import { ApiMetricsModule } from './common/api-metrics.module';
import { ErrorFilter } from './common/error.filter';
import { DeadLettersModule } from './dead-letters/dead-letters.module';
import { DeliveriesModule } from './deliveries/deliveries.module';
import { EventTypesModule } from './event-types/event-types.module';
import { EventsModule } from './events/events.module';
import { GrpcModule } from './grpc/grpc.module';
import { HealthModule } from './health/health.module';
import { ListenSessionsModule } from './listen-sessions/listen-sessions.module';
import { OperatorActionsModule } from './operator-actions/operator-actions.module';
import { PortalModule } from './portal/portal.module';
import { PortalSessionsModule } from './portal-sessions/portal-sessions.module';
import { ReplaysModule } from './replays/replays.module';
import { SubscriptionsModule } from './subscriptions/subscriptions.module';

@Module({
  imports: [
    ConfigModule,
    LoggerModule.forRootAsync({ inject: [APP_CONFIG], useFactory: (config: AppConfig) => loggerParams(config, 'api') }),
    DatabaseModule,
    TemporalClientModule,
    TracingModule,
    AuthModule,
    // The error filter counts the gRPC publishes it refuses.
    ApiMetricsModule,
    // In this order the OpenAPI document lists their paths.
    HealthModule,
    EventTypesModule,
    SubscriptionsModule,
    ListenSessionsModule,
    EventsModule,
    DeliveriesModule,
    DeadLettersModule,
    ReplaysModule,
    ApiKeysModule,
    PortalSessionsModule,
    PortalModule,
    OperatorActionsModule,
    GrpcModule,
  ],
  providers: [{ provide: APP_FILTER, useClass: ErrorFilter }],
})
export class AppModule {}
