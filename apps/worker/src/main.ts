import 'reflect-metadata';
// First: the tracing instrumentations patch only the modules (pg, gRPC, http) loaded after them.
import { startTracing } from '../../../libs/observability/tracing';
startTracing('intelliauth-webhooks-worker');
import { NestFactory } from '@nestjs/core';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Logger } from 'nestjs-pino';
import type { Logger as PinoLogger } from 'pino';
import { loadConfig, LogLevel, requireSetting } from '../../../libs/config/config';
import { migrate } from '../../../libs/db/migrate';
import { serviceLogger } from '../../../libs/observability/logging';
import { reportReadyToLauncher } from '../../../libs/lifecycle/launcher-channel';
import { WorkerModule } from './worker.module';

/**
 * The Temporal SDK's lines (core, worker, workflow and activity loggers) through the worker's logger: from WARN up,
 * or from DEBUG/TRACE when LOG_LEVEL asks for those (its INFO lines narrate every poll and state change).
 */
function sdkLogger(logger: PinoLogger, level: LogLevel): DefaultLogger {
  const sdkLevel = level === 'trace' ? 'TRACE' : level === 'debug' ? 'DEBUG' : 'WARN';
  return new DefaultLogger(sdkLevel, ({ level: entryLevel, message, meta }) =>
    logger[entryLevel.toLowerCase() as Lowercase<typeof entryLevel>]({ ...meta, component: 'temporal-sdk' }, message),
  );
}

async function main(): Promise<void> {
  const config = loadConfig();
  await migrate(requireSetting(config.databaseUrl, 'DATABASE_URL'));
  // Nest owns SIGINT/SIGTERM (enableShutdownHooks) and drains the worker; the Runtime must not race it. Its
  // Prometheus exporter listens on loopback only: the worker's own /metrics serves its output.
  const sdkMetrics =
    config.workerSdkMetricsPort === 0
      ? undefined
      : { prometheus: { bindAddress: `127.0.0.1:${config.workerSdkMetricsPort}` } };
  Runtime.install({
    shutdownSignals: [],
    logger: sdkLogger(serviceLogger(config, 'worker'), config.logLevel),
    telemetryOptions: { metrics: sdkMetrics },
  });
  const app = await NestFactory.createApplicationContext(WorkerModule, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  app.get(Logger).log('started', 'worker');
  reportReadyToLauncher();
}

main().catch((error: Error) => {
  console.error(`worker failed to start: ${error.message}`);
  process.exit(1);
});
