import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SubscriptionsRepository } from '../../../libs/db/subscriptions.repository';

/**
 * At start, seals with the current master key every signing secret still in clear or under an older key, so a
 * master-key rotation completes by itself (docs/api.md: "Secrets at rest").
 */
@Injectable()
export class SecretResealService implements OnApplicationBootstrap {
  private readonly logger = new Logger('secrets');

  constructor(private readonly subscriptions: SubscriptionsRepository) {}

  async onApplicationBootstrap(): Promise<void> {
    const { resealed, unreadable } = await this.subscriptions.secrets.reseal();
    if (resealed > 0) this.logger.log(`resealed ${resealed} signing secrets with the current master key`);
    if (unreadable > 0) {
      this.logger.error(
        `${unreadable} signing secrets are sealed with a master key missing from SECRETS_MASTER_KEYS; their deliveries cannot be signed`,
      );
    }
  }
}
