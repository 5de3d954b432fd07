import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Pool } from 'pg';
import { PG_POOL } from '../../../../libs/db/database.module';
import { launcherPartChecks } from '../../../../libs/lifecycle/launcher-channel';
import { TemporalHealth } from '../../../../libs/temporal/temporal-health';
import { PublicRoute } from '../auth/api-key.guard';

/** A readiness check waits this long for each part before calling it down. */
const CHECK_TIMEOUT_MS = 2_000;

/** Operational routes for load balancers and orchestrators, outside the versioned API. */
@ApiExcludeController()
@Controller()
export class HealthController {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly temporal: TemporalHealth,
  ) {}

  /** Liveness: the process answers. A database outage is not a reason to restart the api, so nothing else is checked. */
  @Get('healthz')
  @PublicRoute()
  health() {
    return { status: 'ok' };
  }

  /**
   * Readiness: the api can take publishes (Postgres) and operator actions (Temporal); 503 says which part failed.
   * Under a launcher (npm start) it also shows the worker as the launcher reports it: a worker that is down or
   * restarting makes the answer `degraded` but still 200, since publishes wait safely in the outbox meanwhile.
   */
  @Get('readyz')
  @PublicRoute()
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const [postgres, temporal] = await Promise.all([
      check(() => this.pool.query('SELECT 1')),
      check(() => this.temporal.check(CHECK_TIMEOUT_MS)),
    ]);
    const supervised = launcherPartChecks();
    const ready = postgres === 'ok' && temporal === 'ok';
    const degraded = Object.values(supervised).some((state) => state !== 'ok');
    void reply.status(ready ? 200 : 503);
    return {
      status: !ready ? 'not_ready' : degraded ? 'degraded' : 'ready',
      checks: { postgres, temporal, ...supervised },
    };
  }
}

async function check(probe: () => Promise<unknown>): Promise<string> {
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS).unref(),
      ),
    ]);
    return 'ok';
  } catch (error) {
    return `failed: ${(error as Error).message}`;
  }
}
