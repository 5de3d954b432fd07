import { Module } from '@nestjs/common';
import { ApiMetricsModule } from '../common/api-metrics.module';
import { DeliveriesModule } from '../deliveries/deliveries.module';
import { EventsModule } from '../events/events.module';
import { WebhooksGrpcController } from './webhooks.grpc.controller';

/** The gRPC face of the events and deliveries services REST uses. */
@Module({
  imports: [ApiMetricsModule, EventsModule, DeliveriesModule],
  controllers: [WebhooksGrpcController],
})
export class GrpcModule {}
