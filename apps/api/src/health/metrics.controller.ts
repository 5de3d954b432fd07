import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiMetrics } from '../../../../libs/observability/metrics';
import { PublicRoute } from '../auth/api-key.guard';

/**
 * Prometheus scrapes this; labels are bounded and carry no tenant, so it holds nothing a tenant owns. It answers
 * from memory (the database gauges are refreshed by GaugesRefresher), so anyone may call it as often as they like.
 */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: ApiMetrics) {}

  @Get()
  @PublicRoute()
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    void reply.header('content-type', this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
