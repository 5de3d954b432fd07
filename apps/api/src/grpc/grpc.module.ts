import { Module } from '@nestjs/common';
import { ApiMetricsModule } from '../common/api-metrics.module';
import { DeadLettersModule } from '../dead-letters/dead-letters.module';
import { DeliveriesModule } from '../deliveries/deliveries.module';
import { EventsModule } from '../events/events.module';
import { ReplaysModule } from '../replays/replays.module';
import { WebhooksGrpcController } from './webhooks.grpc.controller';

/** The gRPC face of the events, deliveries, dead-letters and replays services REST uses. */
@Module({
  imports: [ApiMetricsModule, EventsModule, DeliveriesModule, DeadLettersModule, ReplaysModule],
  controllers: [WebhooksGrpcController],
})
export class GrpcModule {}
