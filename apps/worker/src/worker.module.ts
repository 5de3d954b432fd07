import { Module } from '@nestjs/common';
import { ConfigModule } from '../../../libs/config/config.module';
import { DatabaseModule } from '../../../libs/db/database.module';
import { TemporalClientModule } from '../../../libs/temporal/temporal-client.module';
import { OutboxRelayService } from './outbox-relay.service';
import { SecretResealService } from './secret-reseal.service';
import { TemporalWorkerService } from './temporal-worker.service';
import { workerConnectionProviders } from './worker-connection';

@Module({
  imports: [ConfigModule, DatabaseModule, TemporalClientModule],
  providers: [...workerConnectionProviders, TemporalWorkerService, OutboxRelayService, SecretResealService],
})
export class WorkerModule {}
