import { Module } from '@nestjs/common';
import { ApiMetricsModule } from '../common/api-metrics.module';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';

@Module({
  imports: [ApiMetricsModule],
  controllers: [HealthController, MetricsController],
})
export class HealthModule {}
