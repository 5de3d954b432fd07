import { LogLevel } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test, TestingModule } from '@nestjs/testing';
import { Client } from '@temporalio/client';
import { AddressInfo } from 'node:net';
import { WebhookSender } from '../../libs/outbound/webhook-sender';
import { AppModule } from '../../apps/api/src/app.module';
import { configureHttpApp, connectGrpc, createHttpAdapter } from '../../apps/api/src/http-app';
import { WorkerEndpointService } from '../../apps/worker/src/worker-endpoint.service';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { AppConfig, loadConfig } from '../../libs/config/config';
import { APP_CONFIG } from '../../libs/config/config.module';
import { DeliveryPolicy } from '../../libs/contracts/delivery-policy';
import { OnDemandTemporalClient } from '../../libs/temporal/client';
import { PG_POOL } from '../../libs/db/database.module';
import { Pool } from 'pg';
import { TestClient } from './client';
import { testDatabaseUrl, testMasterKeys } from './database';
import { freePort } from '../../tools/embedded/free-port';
import { TestReceiver } from './receiver';
import { installQuietRuntime } from './time-skipping';

export interface Stack {
  baseUrl: string;
  /** The worker's endpoint (/metrics, /healthz, /readyz); undefined for an api-only stack. */
  workerUrl: string | undefined;
  grpcAddress: string;
  apiKey: string;
  config: AppConfig;
  temporal: Client;
  /** The REST API with the stack's service key. */
  client: TestClient;
  request: TestClient['request'];
  /** Starts a receiver that stops with the stack; answers its URL. */
  startReceiver(receiver: TestReceiver): Promise<string>;
  /** Stops the worker, the api and every receiver started through startReceiver. */
  stop(): Promise<void>;
}

/** The first attempt at once, then an hour's wait: only a test's own actions move a failed delivery on. */
export const WAITING_POLICY: DeliveryPolicy = {
  retryScheduleMs: [0, 3_600_000],
  attemptTimeoutMs: 2_000,
  ttlMs: 86_400_000,
};

let stackNumber = 0;

/**
 * The real product in-process: the api (Nest on Fastify, listening on 127.0.0.1) and, unless told otherwise,
 * the worker (Nest context with the Temporal worker and the outbox relay) on a task queue of its own, both
 * against the suite's Postgres and Temporal dev server.
 */
export async function startStack(
  delivery: DeliveryPolicy,
  options: { worker?: boolean; logLevels?: LogLevel[]; config?: Partial<AppConfig>; sender?: WebhookSender } = {},
): Promise<Stack> {
  const logLevels = options.logLevels ?? ['error', 'warn'];
  installQuietRuntime();
  const temporalAddress = process.env.TEST_TEMPORAL_ADDRESS;
  if (!temporalAddress) throw new Error('TEST_TEMPORAL_ADDRESS is not set: run the suite with npm test');
  const apiKey = `test-service-key-${process.pid}-${++stackNumber}`;
  const config: AppConfig = {
    ...loadConfig({}),
    port: 0,
    grpcPort: await freePort(),
    databaseUrl: testDatabaseUrl(),
    temporalAddress,
    temporalTaskQueue: `e2e-${process.pid}-${stackNumber}-${Date.now()}`,
    apiKeys: [apiKey],
    // The suite's receivers live on 127.0.0.1, which the SSRF guard refuses unless allowlisted.
    outboundAllowlist: ['127.0.0.1/32', '::1/128'],
    secretsMasterKeys: testMasterKeys(),
    // The worker endpoint on a free port; the SDK's exporter belongs to the process's Runtime, not to a stack.
    workerMetricsPort: 0,
    workerSdkMetricsPort: 0,
    // Nest's own lines follow logLevels; the product's pino lines (one per request, one per attempt) stay quiet.
    logLevel: 'warn',
    delivery,
    ...options.config,
  };

  const apiBuilder = Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(APP_CONFIG)
    .useValue(config);
  // The api's own sender (test sends); the worker's is built from the config.
  if (options.sender) apiBuilder.overrideProvider(WebhookSender).useValue(options.sender);
  const apiModule = await apiBuilder.compile();
  const app = apiModule.createNestApplication<NestFastifyApplication>(createHttpAdapter(config), { logger: logLevels });
  configureHttpApp(app);
  connectGrpc(app, config.grpcPort);
  await app.listen(0, '127.0.0.1');
  await app.startAllMicroservices();
  const baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;

  let worker: TestingModule | undefined;
  if (options.worker !== false) {
    worker = await Test.createTestingModule({ imports: [WorkerModule] })
      .overrideProvider(APP_CONFIG)
      .useValue(config)
      .compile();
    worker.useLogger(logLevels);
    await worker.init();
  }

  const receivers: TestReceiver[] = [];
  const client = new TestClient(baseUrl, apiKey);
  // The test's own client to the suite's server, apart from the api's, which connects on its first operator action.
  const testTemporal = new OnDemandTemporalClient(temporalAddress, config.temporalNamespace);
  return {
    baseUrl,
    workerUrl: worker?.get(WorkerEndpointService).url,
    grpcAddress: `127.0.0.1:${config.grpcPort}`,
    apiKey,
    config,
    temporal: await testTemporal.get(),
    client,
    request: client.request.bind(client),
    startReceiver(receiver) {
      receivers.push(receiver);
      return receiver.start();
    },
    async stop() {
      await worker?.close();
      // An api-only stack's deliveries are never meant to run: marked started, so the next suite's outbox relay in
      // this process (same database) does not send them to receivers that are gone or whose port was reused.
      // (A stack started without a reachable Postgres has nothing to mark.)
      if (!worker)
        await app
          .get<Pool>(PG_POOL)
          .query('UPDATE deliveries SET workflow_started_at = now() WHERE workflow_started_at IS NULL')
          .catch(() => undefined);
      await app.close();
      await testTemporal.close();
      await Promise.all(receivers.map((receiver) => receiver.stop()));
    },
  };
}
