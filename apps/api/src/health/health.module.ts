import { Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig, requireSetting } from '../../../../libs/config/config';
import { APP_CONFIG } from '../../../../libs/config/config.module';
import { TemporalHealth } from '../../../../libs/temporal/temporal-health';
import { ApiMetricsModule } from '../common/api-metrics.module';
import { HealthController } from './health.controller';
import { GaugesRefresher } from './gauges-refresher';
import { MetricsController } from './metrics.controller';

@Module({
  imports: [ApiMetricsModule],
  controllers: [HealthController, MetricsController],
  providers: [
    GaugesRefresher,
    {
      provide: TemporalHealth,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new TemporalHealth(requireSetting(config.temporalAddress, 'TEMPORAL_ADDRESS')),
    },
  ],
})
export class HealthModule implements OnApplicationShutdown {
  constructor(private readonly temporalHealth: TemporalHealth) {}

  onApplicationShutdown(): void {
    this.temporalHealth.close();
  }
}
