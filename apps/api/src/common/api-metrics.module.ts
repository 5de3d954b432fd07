import { Module } from '@nestjs/common';
import { ApiMetrics } from '../../../../libs/observability/metrics';

/** One metrics registry for the process: publishes (REST and gRPC) count into the same one /metrics scrapes. */
@Module({
  providers: [{ provide: ApiMetrics, useFactory: () => new ApiMetrics() }],
  exports: [ApiMetrics],
})
export class ApiMetricsModule {}
