import { HttpStatus } from '@nestjs/common';

/** Every error answer has this body: a stable machine-readable code, a message that says what to fix, optional details. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export class ApiError extends Error {
  constructor(
    readonly status: HttpStatus,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** Response headers that go with this error (Retry-After on 429). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }

  static notFound(kind: string, id: string): ApiError {
    return new ApiError(
      HttpStatus.NOT_FOUND,
      `${kind}_not_found`,
      `no ${kind.replace(/_/g, ' ')} with id ${JSON.stringify(id)}`,
    );
  }
}
