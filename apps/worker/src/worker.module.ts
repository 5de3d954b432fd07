import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../../../libs/config/config';
import { APP_CONFIG, ConfigModule } from '../../../libs/config/config.module';
import { loggerParams } from '../../../libs/observability/logging';
import { DatabaseModule } from '../../../libs/db/database.module';
import { TracingModule } from '../../../libs/observability/tracing.module';
import { OutboundModule } from '../../../libs/outbound/outbound.module';
import { TemporalClientModule } from '../../../libs/temporal/temporal-client.module';
import { WorkerMetrics } from '../../../libs/observability/metrics';
import { CertificateExpiryService } from './certificate-expiry.service';
import { OutboxRelayService } from './outbox-relay.service';
import { RetentionScheduleService } from './retention-schedule.service';
import { SecretResealService } from './secret-reseal.service';
import { TemporalWorkerService } from './temporal-worker.service';
import { workerConnectionProviders } from './worker-connection';
import { WorkerEndpointService } from './worker-endpoint.service';

@Module({
  imports: [
    ConfigModule,
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => loggerParams(config, 'worker'),
    }),
    DatabaseModule,
    TemporalClientModule,
    TracingModule,
    OutboundModule,
  ],
  providers: [
    ...workerConnectionProviders,
    { provide: WorkerMetrics, useFactory: () => new WorkerMetrics() },
    TemporalWorkerService,
    WorkerEndpointService,
    OutboxRelayService,
    SecretResealService,
    RetentionScheduleService,
    CertificateExpiryService,
  ],
})
export class WorkerModule {}
