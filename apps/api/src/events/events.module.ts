import { Module } from '@nestjs/common';
import { ApiMetricsModule } from '../common/api-metrics.module';
import { EventsController } from './events.controller';
import { EventsService } from './events.service';
import { PublishRateLimiter } from './publish-rate-limiter';
import { PublishService } from './publish.service';

@Module({
  imports: [ApiMetricsModule],
  controllers: [EventsController],
  providers: [PublishService, PublishRateLimiter, EventsService],
  exports: [PublishService, EventsService],
})
export class EventsModule {}
