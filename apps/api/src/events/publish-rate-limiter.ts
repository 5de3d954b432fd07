import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../../../../libs/config/config';
import { APP_CONFIG } from '../../../../libs/config/config.module';
import { RateLimit } from '../common/rate-limit';

/** PUBLISH_RATE_LIMIT events per second for each tenant, so one tenant's flood cannot starve the others. */
@Injectable()
export class PublishRateLimiter {
  private readonly limit: RateLimit;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.limit = new RateLimit(config.publishRatePerTenant, 1);
  }

  admit(tenantId: string): Promise<void> {
    return this.limit.admit(
      tenantId,
      (retryAfter) =>
        `tenant ${tenantId} is over its publish limit of ${this.config.publishRatePerTenant} events per second; retry after ${retryAfter} s`,
    );
  }
}
