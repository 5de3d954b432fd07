import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { AppConfig, requireSetting } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DeliveriesRepository } from './deliveries.repository';
import { EventsRepository } from './events.repository';
import { createPool } from './pool';
import { SubscriptionsRepository } from './subscriptions.repository';

export const PG_POOL = Symbol('PG_POOL');

@Global()
@Module({
  providers: [
    {
      provide: PG_POOL,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): Pool => createPool(requireSetting(config.databaseUrl, 'DATABASE_URL'), 20),
    },
    { provide: SubscriptionsRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new SubscriptionsRepository(pool) },
    { provide: EventsRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new EventsRepository(pool) },
    {
      provide: DeliveriesRepository,
      inject: [PG_POOL, SubscriptionsRepository],
      useFactory: (pool: Pool, subscriptions: SubscriptionsRepository) => new DeliveriesRepository(pool, subscriptions),
    },
  ],
  exports: [PG_POOL, SubscriptionsRepository, EventsRepository, DeliveriesRepository],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
