import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { AppConfig, requireSetting } from '../config/config';
import { SecretBox } from '../secrets/secret-box';
import { ClientCertificatesRepository } from './client-certificates.repository';
import { OAuth2TokensRepository } from './oauth2-tokens.repository';
import { APP_CONFIG } from '../config/config.module';
import { ApiKeysRepository } from './api-keys.repository';
import { AttemptsRepository } from './attempts.repository';
import { BulkRedrivesRepository } from './bulk-redrives.repository';
import { ReplaysRepository } from './replays.repository';
import { DeliveriesRepository } from './deliveries.repository';
import { EventsRepository } from './events.repository';
import { GaugesRepository } from './gauges.repository';
import { ListenSessionsRepository } from './listen-sessions.repository';
import { OperatorActionsRepository } from './operator-actions.repository';
import { OrderingHeadsRepository } from './ordering-heads';
import { OutboxRepository } from './outbox.repository';
import { createPool } from './pool';
import { PortalSessionsRepository } from './portal-sessions.repository';
import { RetentionRepository } from './retention.repository';
import { SubscriptionsRepository } from './subscriptions.repository';

export const PG_POOL = Symbol('PG_POOL');

@Global()
@Module({
  providers: [
    {
      provide: PG_POOL,
      inject: [APP_CONFIG],
      // Statements are short, so five connections keep up with the process's work; every connection more is a
      // Postgres backend holding memory of its own.
      useFactory: (config: AppConfig): Pool =>
        createPool(requireSetting(config.databaseUrl, 'DATABASE_URL'), 5, config.database),
    },
    {
      provide: SecretBox,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        SecretBox.parse(requireSetting(config.secretsMasterKeys, 'SECRETS_MASTER_KEYS')),
    },
    {
      provide: SubscriptionsRepository,
      inject: [PG_POOL, SecretBox],
      useFactory: (pool: Pool, box: SecretBox) => new SubscriptionsRepository(pool, box),
    },
    {
      provide: ClientCertificatesRepository,
      inject: [PG_POOL],
      useFactory: (pool: Pool) => new ClientCertificatesRepository(pool),
    },
    {
      provide: OAuth2TokensRepository,
      inject: [PG_POOL, SecretBox],
      useFactory: (pool: Pool, box: SecretBox) => new OAuth2TokensRepository(pool, box),
    },
    { provide: EventsRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new EventsRepository(pool) },
    { provide: ApiKeysRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new ApiKeysRepository(pool) },
    {
      provide: OperatorActionsRepository,
      inject: [PG_POOL],
      useFactory: (pool: Pool) => new OperatorActionsRepository(pool),
    },
    {
      provide: PortalSessionsRepository,
      inject: [PG_POOL],
      useFactory: (pool: Pool) => new PortalSessionsRepository(pool),
    },
    {
      provide: BulkRedrivesRepository,
      inject: [PG_POOL],
      useFactory: (pool: Pool) => new BulkRedrivesRepository(pool),
    },
    { provide: ReplaysRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new ReplaysRepository(pool) },
    { provide: OutboxRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new OutboxRepository(pool) },
    {
      provide: OrderingHeadsRepository,
      inject: [PG_POOL],
      useFactory: (pool: Pool) => new OrderingHeadsRepository(pool),
    },
    { provide: RetentionRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new RetentionRepository(pool) },
    { provide: GaugesRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new GaugesRepository(pool) },
    { provide: DeliveriesRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new DeliveriesRepository(pool) },
    {
      provide: ListenSessionsRepository,
      inject: [PG_POOL],
      useFactory: (pool: Pool) => new ListenSessionsRepository(pool),
    },
    {
      provide: AttemptsRepository,
      inject: [PG_POOL, SubscriptionsRepository],
      useFactory: (pool: Pool, subscriptions: SubscriptionsRepository) => new AttemptsRepository(pool, subscriptions),
    },
  ],
  exports: [
    PG_POOL,
    SecretBox,
    SubscriptionsRepository,
    OAuth2TokensRepository,
    ClientCertificatesRepository,
    EventsRepository,
    DeliveriesRepository,
    AttemptsRepository,
    ApiKeysRepository,
    OperatorActionsRepository,
    PortalSessionsRepository,
    BulkRedrivesRepository,
    ReplaysRepository,
    OutboxRepository,
    OrderingHeadsRepository,
    RetentionRepository,
    GaugesRepository,
    ListenSessionsRepository,
  ],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
