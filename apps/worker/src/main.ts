import 'reflect-metadata';
// First: the tracing instrumentations patch only the modules (pg, gRPC, http) loaded after them.
import { startTracing } from '../../../libs/observability/tracing';
startTracing('intelliauth-webhooks-worker');
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig, requireSetting } from '../../../libs/config/config';
import { migrate } from '../../../libs/db/migrate';
import { reportReadyToLauncher } from '../../../libs/embedded/launcher-channel';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  const config = loadConfig();
  await migrate(requireSetting(config.databaseUrl, 'DATABASE_URL'));
  // Nest owns SIGINT/SIGTERM (enableShutdownHooks) and drains the worker; the Runtime must not race it. Its
  // Prometheus exporter listens on loopback only: the worker's own /metrics serves its output.
  const sdkMetrics = config.workerSdkMetricsPort === 0 ? undefined : { prometheus: { bindAddress: `127.0.0.1:${config.workerSdkMetricsPort}` } };
  Runtime.install({ shutdownSignals: [], logger: new DefaultLogger('WARN'), telemetryOptions: { metrics: sdkMetrics } });
  const app = await NestFactory.createApplicationContext(WorkerModule);
  app.enableShutdownHooks();
  new Logger('worker').log('started');
  reportReadyToLauncher();
}

main().catch((error: Error) => {
  console.error(`worker failed to start: ${error.message}`);
  process.exit(1);
});
