import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { Client } from '@temporalio/client';
import { AppConfig, requireSetting } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DeliveriesRepository } from '../db/deliveries.repository';
import { OperatorActionsRepository } from '../db/operator-actions.repository';
import { SubscriptionsRepository } from '../db/subscriptions.repository';
import { connectTemporalClient } from './client';
import { DeliveryStarter } from './delivery-starter';
import { SubscriptionDisabler } from './subscription-disabler';

export const TEMPORAL_CLIENT = Symbol('TEMPORAL_CLIENT');

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
      provide: DeliveryStarter,
      inject: [TEMPORAL_CLIENT, APP_CONFIG, DeliveriesRepository],
      useFactory: (client: Client, config: AppConfig, deliveries: DeliveriesRepository) =>
        new DeliveryStarter(client, config.temporalTaskQueue, config.delivery, deliveries, new Logger(DeliveryStarter.name)),
    },
    {
      provide: SubscriptionDisabler,
      inject: [SubscriptionsRepository, DeliveryStarter, OperatorActionsRepository],
      useFactory: (subscriptions: SubscriptionsRepository, starter: DeliveryStarter, audit: OperatorActionsRepository) =>
        new SubscriptionDisabler(subscriptions, starter, audit),
    },
  ],
  exports: [TEMPORAL_CLIENT, DeliveryStarter, SubscriptionDisabler],
})
export class TemporalClientModule implements OnApplicationShutdown {
  constructor(@Inject(TEMPORAL_CLIENT) private readonly client: Client) {}

  async onApplicationShutdown(): Promise<void> {
    await this.client.connection.close();
  }
}
