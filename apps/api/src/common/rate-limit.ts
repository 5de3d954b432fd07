import { HttpStatus } from '@nestjs/common';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { ApiError } from './api-error';

/**
 * `points` per `seconds` for each key, counted in this api process (with N replicas behind a balancer a key gets up
 * to N times the limit); over it, 429 `rate_limited` with Retry-After. 0 points: no limit.
 */
export class RateLimit {
  private readonly limiter: RateLimiterMemory | undefined;

  constructor(points: number, seconds: number) {
    this.limiter = points > 0 ? new RateLimiterMemory({ points, duration: seconds }) : undefined;
  }

  /** `refusal` says, from the seconds to wait, what was over which limit. */
  async admit(key: string, refusal: (retryAfterSeconds: number) => string): Promise<void> {
    if (!this.limiter) return;
    try {
      await this.limiter.consume(key);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw new ApiError(
        HttpStatus.TOO_MANY_REQUESTS,
        'rate_limited',
        refusal(retryAfter),
        { retry_after_seconds: retryAfter },
        { 'retry-after': String(retryAfter) },
      );
    }
  }
}
