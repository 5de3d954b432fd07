import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { AppConfig } from '../../../../libs/config/config';
import { APP_CONFIG } from '../../../../libs/config/config.module';
import { ApiError } from '../common/api-error';

/**
 * PUBLISH_RATE_LIMIT events per second for each tenant, so one tenant's flood cannot starve the others. The
 * counters live in this api process: with N replicas behind a balancer a tenant gets up to N times the limit.
 */
@Injectable()
export class PublishRateLimiter {
  private readonly limiter: RateLimiterMemory | undefined;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.limiter =
      config.publishRatePerTenant > 0
        ? new RateLimiterMemory({ points: config.publishRatePerTenant, duration: 1 })
        : undefined;
  }

  async admit(tenantId: string): Promise<void> {
    if (!this.limiter) return;
    try {
      await this.limiter.consume(tenantId);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw new ApiError(
        HttpStatus.TOO_MANY_REQUESTS,
        'rate_limited',
        `tenant ${tenantId} is over its publish limit of ${this.config.publishRatePerTenant} events per second; retry after ${retryAfter} s`,
        { retry_after_seconds: retryAfter },
        { 'retry-after': String(retryAfter) },
      );
    }
  }
}
