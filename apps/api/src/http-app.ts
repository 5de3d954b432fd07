import { HttpStatus, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { MicroserviceOptions, Transport } from '@nestjs/microservices';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import type { Server } from '@grpc/grpc-js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import FindMyWay, { HTTPMethod } from 'find-my-way';
import type { PackageDefinition } from '@grpc/proto-loader';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { projectRoot } from '../../../libs/config/project-root';
import { requestId } from '../../../libs/observability/logging';
import { GRPC_CLIENT_LIMITS, limitHttpClients } from './client-limits';
import { ApiError } from './common/api-error';
import { buildOpenApiDocument } from './openapi-document';
import { BODY_LIMIT_BYTES, PathParamsPipe } from './common/validation';
import { reflectionService } from './grpc/reflection';
import { servePortal } from './portal/static-files';
import { AppConfig } from '../../../libs/config/config';
import { APP_CONFIG } from '../../../libs/config/config.module';

export const PROTO_PATH = join(projectRoot(), 'proto', 'intelliauth', 'webhooks', 'v1', 'webhooks.proto');
export const GRPC_PACKAGE = 'intelliauth.webhooks.v1';

/**
 * gRPC beside REST in the same Nest application (same guards, filters and services), with server reflection so a
 * generic client (grpcurl, Postman) can discover it and every message it takes.
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
        channelOptions: GRPC_CLIENT_LIMITS,
        onLoadPackageDefinition: (_definition: PackageDefinition, server: Pick<Server, 'addService'>) =>
          reflectionService().addToServer(server),
      },
    },
    { inheritAppConfig: true },
  );
}

/**
 * The errors Fastify's router answers itself, before Nest (and so the error filter) sees the request: a path that
 * is not valid percent-encoded UTF-8 (`/v1/events/%ED%A0%80`, a lone `%`). They get the API's error shape too.
 */
function routerError(error: { code?: string }, _request: FastifyRequest, reply: FastifyReply): void {
  const [status, code, message] =
    error.code === 'FST_ERR_BAD_URL'
      ? [400, 'invalid_path', 'the path is not valid percent-encoded UTF-8; encode each id with encodeURIComponent']
      : [400, 'invalid_request', 'the request could not be routed; check its path and headers'];
  void reply
    .code(status)
    .header('content-type', 'application/json; charset=utf-8')
    .send(JSON.stringify({ error: { code, message } }));
}

/**
 * What Node's HTTP parser refuses before Fastify has a request (request line and headers over 16 KiB, e.g. a huge
 * query string; malformed HTTP): Fastify's default answer has its own body shape, this one has the API's.
 */
function clientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request_timeout', 'the request did not arrive in time; send it again']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [
            431,
            'headers_too_large',
            'the request line and headers are over 16 KiB; shorten the query string or the headers',
          ]
        : [400, 'malformed_request', 'the request is not valid HTTP/1.1'];
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** Node's limit on the request line and headers: longer parameters never reach the router anyway. */
const MAX_PARAM_LENGTH = 16 * 1024;

export function createHttpAdapter(config: AppConfig): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    // Behind a TLS proxy, its X-Forwarded-Proto makes request.protocol https (the portal cookie is then Secure).
    trustProxy: config.trustProxy,
    // No router limit below Node's 16 KiB request line and headers: an id of any length reaches IdPatternPipe, whose
    // 400 invalid_id says what the id must look like, as the document states. No route has a regex parameter, the
    // case the router's limit guards.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Requests are logged by nestjs-pino (one line each), with the id made here.
    logger: false,
    genReqId: requestId,
    frameworkErrors: routerError,
    clientErrorHandler: clientError,
  });
}

/**
 * A known path asked with a method it does not have answers 405 with `Allow` (RFC 9110), not 404: every route
 * Fastify registers (Nest's and the docs') goes into a second router that only answers which methods a path has.
 */
function answerUnknownMethods(fastify: FastifyInstance): void {
  // As long a parameter as the main router takes: a path it routes is a path whose methods this one knows.
  const known = FindMyWay({ maxParamLength: MAX_PARAM_LENGTH });
  const methods = new Set<string>();
  fastify.addHook('onRoute', (route) => {
    for (const method of ([] as string[]).concat(route.method)) {
      methods.add(method);
      known.on(method as HTTPMethod, route.url, () => undefined);
    }
  });
  fastify.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url !== undefined) return;
    const path = request.url.split('?')[0];
    const allowed = [...methods].filter((method) => known.find(method as HTTPMethod, path) !== null);
    if (allowed.length === 0) return;
    const error = new ApiError(
      HttpStatus.METHOD_NOT_ALLOWED,
      'method_not_allowed',
      `${request.method} is not an operation of this path; it takes ${allowed.join(', ')}`,
    );
    return reply.code(error.status).header('allow', allowed.join(', ')).send(error.toBody());
  });
}

/**
 * What both main.ts and the e2e tests apply to the Nest app: the OpenAPI document at /docs-json and its browsable page at
 * /docs, and the tenant portal's files at /portal/.
 */
export function configureHttpApp(app: NestFastifyApplication): void {
  // Every body this API takes is JSON; a text body is answered 415 rather than parsed into a string.
  app.getHttpAdapter().getInstance().removeContentTypeParser('text/plain');
  answerUnknownMethods(app.getHttpAdapter().getInstance());
  // Every answer names its request, so a caller can quote it and an operator find its log line.
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', async (request, reply) => void reply.header('x-request-id', request.id));
  // An id with NUL in the path (`/v1/events/evt_%00`) is a 400 here, not a Postgres encoding error (500) later.
  app.useGlobalPipes(new PathParamsPipe());
  const document = buildOpenApiDocument(app as unknown as INestApplication);
  SwaggerModule.setup('docs', app as unknown as INestApplication, document);
  servePortal(app, app.get<AppConfig>(APP_CONFIG));
  limitHttpClients(app.getHttpServer(), app.get<AppConfig>(APP_CONFIG).clientLimits);
  app.enableShutdownHooks();
}

export async function createApiApp(module: unknown, config: AppConfig): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(module as never, createHttpAdapter(config), {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  configureHttpApp(app);
  connectGrpc(app, config.grpcPort);
  return app;
}
