import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { GaugesRepository } from '../../../../libs/db/gauges.repository';
import { ApiMetrics } from '../../../../libs/observability/metrics';
import { PublicRoute } from '../auth/api-key.guard';

/** Prometheus scrapes this; labels are bounded and carry no tenant, so it holds nothing a tenant owns. */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: ApiMetrics,
    private readonly gauges: GaugesRepository,
  ) {}

  @Get()
  @PublicRoute()
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    this.metrics.databaseGauges(await this.gauges.read());
    void reply.header('content-type', this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
