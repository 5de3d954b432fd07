import 'reflect-metadata';
// First: the tracing instrumentations patch only the modules (pg, gRPC, http) loaded after them.
import { startTracing } from '../../../libs/observability/tracing';
startTracing('intelliauth-webhooks-api');
import { Logger } from '@nestjs/common';
import { loadConfig, requireSetting } from '../../../libs/config/config';
import { migrate } from '../../../libs/db/migrate';
import { reportReadyToLauncher } from '../../../libs/lifecycle/launcher-channel';
import { AppModule } from './app.module';
import { createApiApp } from './http-app';

async function main(): Promise<void> {
  const config = loadConfig();
  await migrate(requireSetting(config.databaseUrl, 'DATABASE_URL'));
  const app = await createApiApp(AppModule, config);
  // Nest's order for hybrid apps: lifecycle hooks complete on listen(), then the gRPC server starts taking calls.
  await app.listen(config.port, '0.0.0.0');
  await app.startAllMicroservices();
  new Logger('api').log(
    `REST API on http://127.0.0.1:${config.port}/v1 (OpenAPI page /docs), gRPC on 127.0.0.1:${config.grpcPort}`,
  );
  reportReadyToLauncher();
}

main().catch((error: Error) => {
  console.error(`api failed to start: ${error.message}`);
  process.exit(1);
});
