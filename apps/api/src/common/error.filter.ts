import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
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
      return new ApiError(status, 'payload_too_large', 'the request body is over the 256 KiB limit; send a smaller data object');
    case HttpStatus.UNSUPPORTED_MEDIA_TYPE:
      return new ApiError(status, 'unsupported_media_type', 'send the body as JSON with Content-Type: application/json');
    default:
      return undefined;
  }
}

@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('ErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const error = this.toApiError(exception);
    void reply.status(error.status).send(error.toBody());
  }

  private toApiError(exception: unknown): ApiError {
    if (exception instanceof ApiError) return exception;
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === HttpStatus.NOT_FOUND) return new ApiError(status, 'route_not_found', 'no such route; the API lives under /v1 (see /docs)');
      return fromParsingFailure(status, exception.message) ?? new ApiError(status, `http_${status}`, exception.message);
    }
    this.logger.error(exception instanceof Error ? exception.stack ?? exception.message : String(exception));
    return new ApiError(HttpStatus.INTERNAL_SERVER_ERROR, 'internal_error', 'the service failed to handle this request; retry it');
  }
}
