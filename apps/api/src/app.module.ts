import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ConfigModule } from '../../../libs/config/config.module';
import { DatabaseModule } from '../../../libs/db/database.module';
import { TemporalClientModule } from '../../../libs/temporal/temporal-client.module';
import { ApiKeyGuard } from './common/api-key.guard';
import { ErrorFilter } from './common/error.filter';
import { DeadLettersController } from './dead-letters/dead-letters.controller';
import { DeliveriesController } from './deliveries/deliveries.controller';
import { DeliveriesService } from './deliveries/deliveries.service';
import { EventTypesController } from './event-types/event-types.controller';
import { EventsController } from './events/events.controller';
import { PublishService } from './events/publish.service';
import { HealthController } from './health/health.controller';
import { SubscriptionsController } from './subscriptions/subscriptions.controller';
import { SubscriptionsService } from './subscriptions/subscriptions.service';

@Module({
  imports: [ConfigModule, DatabaseModule, TemporalClientModule],
  controllers: [HealthController, EventTypesController, SubscriptionsController, EventsController, DeliveriesController, DeadLettersController],
  providers: [
    SubscriptionsService,
    PublishService,
    DeliveriesService,
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_FILTER, useClass: ErrorFilter },
  ],
})
export class AppModule {}
