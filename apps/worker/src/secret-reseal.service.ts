import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../../libs/db/database.module';
import { resealReceiverCredentials } from '../../../libs/db/receiver-credentials-reseal';
import { SubscriptionsRepository } from '../../../libs/db/subscriptions.repository';
import { SecretBox } from '../../../libs/secrets/secret-box';

/**
 * At start, seals with the current master key every signing secret still in clear or under an older key, and every
 * receiver credential under an older key, so a master-key rotation completes by itself (docs/api.md: "Secrets at
 * rest").
 */
@Injectable()
export class SecretResealService implements OnApplicationBootstrap {
  private readonly logger = new Logger('secrets');

  constructor(
    private readonly subscriptions: SubscriptionsRepository,
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly box: SecretBox,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { resealed, unreadable } = await this.subscriptions.secrets.reseal();
    if (resealed > 0) this.logger.log(`resealed ${resealed} signing secrets with the current master key`);
    if (unreadable > 0) {
      this.logger.error(
        `${unreadable} signing secrets are sealed with a master key missing from SECRETS_MASTER_KEYS; their deliveries cannot be signed`,
      );
    }
    const credentials = await resealReceiverCredentials(this.pool, this.box);
    if (credentials.resealed > 0)
      this.logger.log(`resealed the receiver credentials of ${credentials.resealed} subscriptions`);
    if (credentials.unreadable > 0) {
      this.logger.error(
        `${credentials.unreadable} subscriptions hold receiver credentials sealed with a master key missing from SECRETS_MASTER_KEYS; their attempts fail`,
      );
    }
  }
}
