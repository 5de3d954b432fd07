import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { MicroserviceOptions, Transport } from '@nestjs/microservices';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Server } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { join } from 'node:path';
import { projectRoot } from '../../../libs/config/project-root';

export const PROTO_PATH = join(projectRoot(), 'proto', 'intelliauth', 'webhooks', 'v1', 'webhooks.proto');
export const GRPC_PACKAGE = 'intelliauth.webhooks.v1';

/**
 * gRPC beside REST in the same Nest application (same guards, filters and services), with server reflection so a
 * generic client (grpcurl, Postman) can discover it.
 */
export function connectGrpc(app: NestFastifyApplication, port: number): void {
  app.connectMicroservice<MicroserviceOptions>(
    {
      transport: Transport.GRPC,
      options: {
        package: GRPC_PACKAGE,
        protoPath: PROTO_PATH,
        url: `0.0.0.0:${port}`,
        loader: { keepCase: true, longs: String, enums: String, defaults: false, oneofs: true },
        onLoadPackageDefinition: (definition: PackageDefinition, server: Pick<Server, 'addService'>) =>
          new ReflectionService(definition).addToServer(server),
      },
    },
    { inheritAppConfig: true },
  );
}

/** The publish contract caps an event (and so every request body) at 256 KiB. */
export const BODY_LIMIT_BYTES = 256 * 1024;

export function createHttpAdapter(): FastifyAdapter {
  return new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES, logger: false });
}

/**
 * What both main.ts and the e2e tests apply to the Nest app: the OpenAPI document at /docs-json and its browsable page at /docs.
 */
export function configureHttpApp(app: NestFastifyApplication): void {
  // Every body this API takes is JSON; a text body is answered 415 rather than parsed into a string.
  app.getHttpAdapter().getInstance().removeContentTypeParser('text/plain');
  const document = SwaggerModule.createDocument(
    app as unknown as INestApplication,
    new DocumentBuilder()
      .setTitle('IntelliAuth Webhooks')
      .setDescription('Publish IntelliAuth events, manage webhook subscriptions, inspect deliveries and redrive dead letters.')
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app as unknown as INestApplication, document);
  app.enableShutdownHooks();
}

export async function createApiApp(module: unknown, grpcPort: number): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(module as never, createHttpAdapter(), { bufferLogs: false });
  configureHttpApp(app);
  connectGrpc(app, grpcPort);
  return app;
}
