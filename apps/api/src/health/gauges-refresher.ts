import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../../../libs/config/config';
import { APP_CONFIG } from '../../../../libs/config/config.module';
import { GaugesRepository } from '../../../../libs/db/gauges.repository';
import { ApiMetrics } from '../../../../libs/observability/metrics';

/**
 * Reads the database gauges every METRICS_REFRESH_INTERVAL, so /metrics (public, unauthenticated) answers from
 * memory: a flood of scrapes costs Postgres nothing. One read at a time; a slow one is not stacked upon.
 */
@Injectable()
export class GaugesRefresher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('metrics');
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly metrics: ApiMetrics,
    private readonly gauges: GaugesRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    void this.refresh();
    // Unref'd: the timer alone never keeps the process alive.
    this.timer = setInterval(() => void this.refresh(), this.config.clientLimits.gaugesRefreshMs).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.inFlight;
  }

  refresh(): Promise<void> {
    this.inFlight ??= this.gauges
      .read()
      .then(
        (gauges) => {
          this.metrics.databaseGauges(gauges);
          this.metrics.gaugesRefreshes.inc({ outcome: 'ok' });
        },
        (error: Error) => {
          // The previous values stay; the failed count tells a dashboard they are getting old.
          this.metrics.gaugesRefreshes.inc({ outcome: 'failed' });
          this.logger.warn(`reading the database gauges failed: ${error.message}`);
        },
      )
      .finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }
}
