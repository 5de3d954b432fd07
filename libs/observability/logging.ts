import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Params } from 'nestjs-pino';
import pino, { Logger } from 'pino';
import type { AppConfig } from '../config/config';

export type Service = 'api' | 'worker';

/**
 * Where secrets could appear in a log line: request headers (API keys), and fields of logged objects that hold a
 * signing secret or a key. The logger writes `[redacted]` instead, whatever logs them.
 */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  '*.secret',
  '*.secrets',
  '*.signing_secret',
  '*.signingSecrets',
  '*.key',
  '*.api_key',
  '*.apiKey',
  '*.password',
];

const loggers = new Map<Service, Logger>();

/**
 * The process's logger for a service: JSON lines (LOG_FORMAT=json), or pretty lines for a person (LOG_FORMAT=pretty,
 * the default when stdout is a terminal), at LOG_LEVEL. One per service and process, shared by Nest, the Temporal
 * SDK runtime and the product's own lines.
 */
export function serviceLogger(config: Pick<AppConfig, 'logLevel' | 'logFormat'>, service: Service): Logger {
  let logger = loggers.get(service);
  if (!logger) {
    const options = {
      level: config.logLevel,
      base: { service },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    };
    const format = config.logFormat ?? (process.stdout.isTTY ? 'pretty' : 'json');
    // Pretty printing in this thread (sync), not pino's worker-thread transport: one thread fewer per process.
    // pino-pretty is loaded only then, so a process writing JSON lines does not keep it in memory.
    logger =
      format === 'pretty'
        ? pino(
            options,
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            (require('pino-pretty') as typeof import('pino-pretty'))({
              sync: true,
              singleLine: true,
              ignore: 'pid,hostname,service,context',
              messageFormat: '{if context}{context}: {end}{msg}',
            }),
          )
        : pino(options);
    loggers.set(service, logger);
  }
  return logger;
}

/** A request id a client sent may be kept if it is short and plain (it goes into every line of that request). */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Each request's id (Fastify's `genReqId`, so pino-http and Fastify share it): the caller's `x-request-id` when it
 * is plain, else a new one. The api returns it in the `x-request-id` response header.
 */
export function requestId(request: IncomingMessage): string {
  const sent = request.headers['x-request-id'];
  return typeof sent === 'string' && CLIENT_REQUEST_ID.test(sent) ? sent : randomUUID();
}

/** Routes scraped or probed every few seconds: their request lines would drown the rest. */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/** nestjs-pino's settings for a service: its logger, and for the api one line per request with its id. */
export function loggerParams(config: AppConfig, service: Service): Params {
  return {
    pinoHttp: {
      logger: serviceLogger(config, service),
      autoLogging: { ignore: (request) => QUIET_ROUTES.has((request.url ?? '').split('?')[0]) },
      // The request line without its headers: they hold the API key, and add nothing a request id does not.
      serializers: {
        req: (request: { id: string; method: string; url: string }) => ({
          id: request.id,
          method: request.method,
          url: request.url,
        }),
        res: (response: { statusCode: number }) => ({ statusCode: response.statusCode }),
      },
    },
  };
}
