import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { Client } from '@temporalio/client';
import { AppConfig, requireSetting } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DeliveriesRepository } from '../db/deliveries.repository';
import { OperatorActionsRepository } from '../db/operator-actions.repository';
import { OutboxRepository } from '../db/outbox.repository';
import { SubscriptionsRepository } from '../db/subscriptions.repository';
import { connectTemporalClient } from './client';
import { DeadLetterRedriver } from './dead-letter-redriver';
import { DeliverySignals } from './delivery-signals';
import { SubscriptionDisabler } from './subscription-disabler';

export const TEMPORAL_CLIENT = Symbol('TEMPORAL_CLIENT');

const clientParts = [TEMPORAL_CLIENT, APP_CONFIG, DeliveriesRepository, OutboxRepository];

@Global()
@Module({
  providers: [
    {
      provide: TEMPORAL_CLIENT,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): Promise<Client> =>
        connectTemporalClient(requireSetting(config.temporalAddress, 'TEMPORAL_ADDRESS'), config.temporalNamespace),
    },
    {
      provide: DeliverySignals,
      inject: clientParts,
      useFactory: (client: Client, config: AppConfig, deliveries: DeliveriesRepository, outbox: OutboxRepository) =>
        new DeliverySignals(client, config.temporalTaskQueue, config.delivery, deliveries, outbox),
    },
    {
      provide: DeadLetterRedriver,
      inject: clientParts,
      useFactory: (client: Client, config: AppConfig, deliveries: DeliveriesRepository, outbox: OutboxRepository) =>
        new DeadLetterRedriver(client, config.temporalTaskQueue, config.delivery, deliveries, outbox),
    },
    {
      provide: SubscriptionDisabler,
      inject: [SubscriptionsRepository, DeliverySignals, OperatorActionsRepository],
      useFactory: (subscriptions: SubscriptionsRepository, signals: DeliverySignals, audit: OperatorActionsRepository) =>
        new SubscriptionDisabler(subscriptions, signals, audit),
    },
  ],
  exports: [TEMPORAL_CLIENT, DeliverySignals, DeadLetterRedriver, SubscriptionDisabler],
})
export class TemporalClientModule implements OnApplicationShutdown {
  constructor(@Inject(TEMPORAL_CLIENT) private readonly client: Client) {}

  async onApplicationShutdown(): Promise<void> {
    await this.client.connection.close();
  }
}
