import { Module } from '@nestjs/common';
import { ConfigModule } from '../../../libs/config/config.module';
import { DatabaseModule } from '../../../libs/db/database.module';
import { TemporalClientModule } from '../../../libs/temporal/temporal-client.module';
import { OutboxSweeperService } from './outbox-sweeper.service';
import { RetentionScheduleService } from './retention-schedule.service';
import { SecretResealService } from './secret-reseal.service';
import { TemporalWorkerService } from './temporal-worker.service';

@Module({
  imports: [ConfigModule, DatabaseModule, TemporalClientModule],
  providers: [TemporalWorkerService, OutboxSweeperService, SecretResealService, RetentionScheduleService],
})
export class WorkerModule {}
