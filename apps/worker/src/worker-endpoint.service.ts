import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { once } from 'node:events';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Pool } from 'pg';
import { AppConfig } from '../../../libs/config/config';
import { APP_CONFIG } from '../../../libs/config/config.module';
import { PG_POOL } from '../../../libs/db/database.module';
import { WorkerMetrics } from '../../../libs/observability/metrics';
import { TemporalWorkerService } from './temporal-worker.service';

/** A scrape waits this long for the Temporal SDK's exporter before answering without its part. */
const SDK_METRICS_TIMEOUT_MS = 2_000;

/**
 * The worker's HTTP endpoint (WORKER_METRICS_PORT): `/metrics` (the worker's metrics followed by the Temporal SDK
 * runtime's, so one scrape target per worker), `/healthz` (the process answers) and `/readyz` (it polls its task
 * queue and reaches Postgres).
 */
@Injectable()
export class WorkerEndpointService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('worker-endpoint');
  private readonly server: Server;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly metrics: WorkerMetrics,
    private readonly worker: TemporalWorkerService,
  ) {
    this.server = createServer((request, response) => void this.handle(request, response));
  }

  async onModuleInit(): Promise<void> {
    this.server.listen(this.config.workerMetricsPort, '0.0.0.0');
    await once(this.server, 'listening');
    this.logger.log(`metrics on ${this.url}/metrics, health on ${this.url}/healthz and /readyz`);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async onApplicationShutdown(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET')
      return answer(response, 405, { error: { code: 'method_not_allowed', message: 'only GET is served here' } });
    switch (path) {
      case '/metrics': {
        const [own, sdk] = await Promise.all([this.metrics.registry.metrics(), this.sdkMetrics()]);
        response.writeHead(200, { 'content-type': this.metrics.registry.contentType });
        return void response.end(own + sdk);
      }
      case '/healthz':
        return answer(response, 200, { status: 'ok' });
      case '/readyz': {
        const checks = {
          temporal_worker: this.worker.state(),
          postgres: await this.pool.query('SELECT 1').then(
            () => 'ok',
            (error: Error) => `failed: ${error.message}`,
          ),
        };
        const ready = checks.temporal_worker === 'RUNNING' && checks.postgres === 'ok';
        return answer(response, ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready', checks });
      }
      default:
        return answer(response, 404, {
          error: { code: 'route_not_found', message: 'served here: /metrics, /healthz, /readyz' },
        });
    }
  }

  /** The Temporal SDK runtime's exposition (slots, pollers, sticky cache, task latencies), or nothing when it is not up. */
  private async sdkMetrics(): Promise<string> {
    if (this.config.workerSdkMetricsPort === 0) return '';
    try {
      const sdk = await fetch(`http://127.0.0.1:${this.config.workerSdkMetricsPort}/metrics`, {
        signal: AbortSignal.timeout(SDK_METRICS_TIMEOUT_MS),
      });
      return sdk.ok ? `\n${await sdk.text()}` : '';
    } catch {
      return '';
    }
  }
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
