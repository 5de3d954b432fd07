import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiMetrics } from '../../../../libs/observability/metrics';
import { PublicRoute } from '../auth/api-key.guard';

const RENDER_REUSE_MS = 1_000;

/**
 * Prometheus scrapes this; labels are bounded and carry no tenant, so it holds nothing a tenant owns. It answers
 * from memory (the database gauges are refreshed by GaugesRefresher), so anyone may call it as often as they like.
 */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  private rendered: { at: number; text: Promise<string> } | undefined;

  constructor(private readonly metrics: ApiMetrics) {}

  @Get()
  @PublicRoute()
  scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    void reply.header('content-type', this.metrics.registry.contentType);
    return this.render();
  }

  /**
   * Scrapes within RENDER_REUSE_MS of each other share one rendering: prom-client's takes about half a millisecond
   * of the event loop, which a flood of scrapes would otherwise take from publishes. Prometheus scrapes seconds apart.
   */
  private render(): Promise<string> {
    const now = performance.now();
    if (this.rendered === undefined || now - this.rendered.at >= RENDER_REUSE_MS) {
      const text = this.metrics.registry.metrics();
      this.rendered = { at: now, text };
      text.catch(() => (this.rendered = undefined));
    }
    return this.rendered.text;
  }
}
