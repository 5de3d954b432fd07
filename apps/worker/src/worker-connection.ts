import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { AppConfig, requireSetting } from '../../../libs/config/config';
import { APP_CONFIG } from '../../../libs/config/config.module';
import { clientTracingInterceptors } from '../../../libs/observability/tracing';
import { OutboxRunStarter } from '../../../libs/temporal/outbox-run-starter';
import { Logger } from '@nestjs/common';

/** The worker process's one connection to Temporal, shared by its worker and its outbox relay's client. */
export const WORKER_CONNECTION = Symbol('WORKER_CONNECTION');

export const workerConnectionProviders = [
  {
    provide: WORKER_CONNECTION,
    inject: [APP_CONFIG],
    useFactory: (config: AppConfig): Promise<NativeConnection> =>
      NativeConnection.connect({
        address: requireSetting(config.temporalAddress, 'TEMPORAL_ADDRESS'),
        // Compression only costs CPU between processes on one host or one network; the payloads are small ids.
        grpcCompression: { codec: 'none' },
      }),
  },
  {
    // Sharing the worker's NativeConnection is what lets the server hand each new run's first task straight back.
    provide: OutboxRunStarter,
    inject: [WORKER_CONNECTION, APP_CONFIG],
    useFactory: (connection: NativeConnection, config: AppConfig) =>
      new OutboxRunStarter(
        new Client({ connection, namespace: config.temporalNamespace, interceptors: clientTracingInterceptors() }),
        config.temporalTaskQueue,
        config.delivery,
        new Logger(OutboxRunStarter.name),
        true,
      ),
  },
];
