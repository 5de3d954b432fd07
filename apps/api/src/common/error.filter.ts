import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Observable, throwError } from 'rxjs';
import { isTransientDatabaseError } from '../../../../libs/db/pool';
import { ApiMetrics } from '../../../../libs/observability/metrics';
import { ApiError } from './api-error';

/**
 * Nest hands Fastify's body-parsing failures over as HttpExceptions; this API's own errors are always ApiErrors,
 * so any other 400/413/415 comes from reading the body.
 */
function fromParsingFailure(status: number, message: string): ApiError | undefined {
  switch (status) {
    case HttpStatus.BAD_REQUEST:
      return new ApiError(status, 'invalid_json', `the body is not valid JSON (${message}); send one JSON object`);
    case HttpStatus.PAYLOAD_TOO_LARGE:
      return new ApiError(
        status,
        'payload_too_large',
        'the request body is over the 256 KiB limit; send a smaller data object',
      );
    case HttpStatus.UNSUPPORTED_MEDIA_TYPE:
      return new ApiError(
        status,
        'unsupported_media_type',
        'send the body as JSON with Content-Type: application/json',
      );
    default:
      return undefined;
  }
}

/**
 * The client went away, or the request timeout cut it off, before its body arrived in full: there is nobody left to
 * answer and nothing went wrong here, so it is no error to log. A reset of one of the API's own connections (to
 * Postgres, restarting) raises the same ECONNRESET, but in a request whose body had arrived: that one is not the
 * client's doing.
 */
function clientGone(exception: unknown, request: FastifyRequest | undefined): boolean {
  const { code, message } = (exception ?? {}) as { code?: unknown; message?: unknown };
  return (code === 'ECONNRESET' || message === 'aborted') && request !== undefined && !request.raw.complete;
}

/** Postgres restarting, failing over or out of connections: the request may pass if sent again shortly. */
const DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

/** The canonical gRPC code for each HTTP status this API answers with. */
function grpcCode(error: ApiError): GrpcStatus {
  switch (error.status) {
    case HttpStatus.BAD_REQUEST:
    case HttpStatus.UNPROCESSABLE_ENTITY:
    case HttpStatus.PAYLOAD_TOO_LARGE:
      return GrpcStatus.INVALID_ARGUMENT;
    case HttpStatus.UNAUTHORIZED:
      return GrpcStatus.UNAUTHENTICATED;
    case HttpStatus.FORBIDDEN:
      return GrpcStatus.PERMISSION_DENIED;
    case HttpStatus.NOT_FOUND:
      return GrpcStatus.NOT_FOUND;
    case HttpStatus.CONFLICT:
      return error.code === 'event_conflict' ? GrpcStatus.ALREADY_EXISTS : GrpcStatus.FAILED_PRECONDITION;
    case HttpStatus.TOO_MANY_REQUESTS:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case HttpStatus.SERVICE_UNAVAILABLE:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.INTERNAL;
  }
}

/**
 * Messages echo what was sent (an id, a field name, an event type). Bounded, every answer stays readable, and a
 * gRPC status (the message and details travel as HTTP/2 trailers) cannot outgrow the header limits: a 1 MB id
 * echoed in full left the call hanging until its deadline, and the calls after it on the same connection too.
 */
export const MAX_ERROR_MESSAGE_LENGTH = 1_000;
export const MAX_GRPC_DETAILS_BYTES = 16 * 1024;

function bounded(error: ApiError): ApiError {
  if (error.message.length <= MAX_ERROR_MESSAGE_LENGTH) return error;
  let cut = MAX_ERROR_MESSAGE_LENGTH - 1;
  if (/[\ud800-\udbff]/.test(error.message[cut - 1])) cut -= 1; // never split a surrogate pair
  return new ApiError(error.status, error.code, `${error.message.slice(0, cut)}…`, error.details, error.headers);
}

/** The details as JSON, or for a list too long for a trailer as many leading entries as fit. */
function grpcDetails(details: unknown): Buffer | undefined {
  const all = Buffer.from(JSON.stringify(details), 'utf8');
  if (all.length <= MAX_GRPC_DETAILS_BYTES) return all;
  if (!Array.isArray(details)) return undefined;
  for (let count = details.length - 1; count > 0; count = Math.floor(count / 2)) {
    const some = Buffer.from(JSON.stringify(details.slice(0, count)), 'utf8');
    if (some.length <= MAX_GRPC_DETAILS_BYTES) return some;
  }
  return undefined;
}

/** The same machine-readable code as REST: first word of the message, and alone in the `error-code` trailer. */
function toGrpcError(error: ApiError) {
  const metadata = new Metadata();
  metadata.set('error-code', error.code);
  for (const [name, value] of Object.entries(error.headers)) metadata.set(name.toLowerCase(), value);
  const details = error.details === undefined ? undefined : grpcDetails(error.details);
  if (details !== undefined) metadata.set('error-details-bin', details);
  return {
    code: grpcCode(error),
    message: `${error.code}: ${error.message}`,
    details: `${error.code}: ${error.message}`,
    metadata,
  };
}

/** The publish call over gRPC, as grpc-js names it. */
const GRPC_PUBLISH_PATH = '/intelliauth.webhooks.v1.WebhooksService/Publish';

@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('ErrorFilter');

  constructor(private readonly metrics: ApiMetrics) {}

  catch(exception: unknown, host: ArgumentsHost): Observable<never> | void {
    const request = host.getType() === 'http' ? host.switchToHttp().getRequest<FastifyRequest>() : undefined;
    const error = bounded(this.toApiError(exception, request));
    if (request === undefined) {
      // Counted here rather than in the handler, so a publish refused by the guard counts too.
      const call = host.getArgByIndex<{ getPath?(): string } | undefined>(2);
      if (call?.getPath?.() === GRPC_PUBLISH_PATH) this.metrics.published('grpc', 'rejected', error.code, undefined);
      return throwError(() => toGrpcError(error));
    }
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (request.method === 'POST' && request.routeOptions.url === '/v1/events')
      this.metrics.published('rest', 'rejected', error.code, reply.elapsedTime);
    void reply.headers(error.headers).status(error.status).send(error.toBody());
  }

  private toApiError(exception: unknown, request: FastifyRequest | undefined): ApiError {
    if (exception instanceof ApiError) return exception;
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === HttpStatus.NOT_FOUND)
        return new ApiError(status, 'route_not_found', 'no such route; the API lives under /v1 (see /docs)');
      return fromParsingFailure(status, exception.message) ?? new ApiError(status, `http_${status}`, exception.message);
    }
    if (clientGone(exception, request))
      return new ApiError(HttpStatus.BAD_REQUEST, 'request_aborted', 'the request ended before its body arrived');
    if (isTransientDatabaseError(exception)) {
      this.logger.warn(`database unavailable: ${exception instanceof Error ? exception.message : String(exception)}`);
      return new ApiError(
        HttpStatus.SERVICE_UNAVAILABLE,
        'database_unavailable',
        `the database cannot be reached right now; send the request again in ${DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS} s ` +
          '(a publish sent again with the same event_id is stored once)',
        undefined,
        { 'Retry-After': String(DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS) },
      );
    }
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    return new ApiError(
      HttpStatus.INTERNAL_SERVER_ERROR,
      'internal_error',
      'the service failed to handle this request; retry it',
    );
  }
}
