import { Controller, Get, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Pool } from 'pg';
import { PG_POOL } from '../../../../libs/db/database.module';
import { PublicRoute } from '../auth/api-key.guard';

@ApiExcludeController()
@Controller('healthz')
export class HealthController {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  @Get()
  @PublicRoute()
  async health() {
    await this.pool.query('SELECT 1');
    return { status: 'ok' };
  }
}
