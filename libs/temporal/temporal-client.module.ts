import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { Client } from '@temporalio/client';
import { AppConfig, requireSetting } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DeliveriesRepository } from '../db/deliveries.repository';
import { EventsRepository } from '../db/events.repository';
import { OperatorActionsRepository } from '../db/operator-actions.repository';
import { OutboxRepository } from '../db/outbox.repository';
import { SubscriptionsRepository } from '../db/subscriptions.repository';
import { OperationalEvents } from '../operational/operational-events';
import { connectTemporalClient } from './client';
import { DeadLetterRedriver } from './dead-letter-redriver';
import { DeliveryRuns } from './delivery-run-options';
import { DeliverySignals } from './delivery-signals';
import { SubscriptionDisabler } from './subscription-disabler';

export const TEMPORAL_CLIENT = Symbol('TEMPORAL_CLIENT');

const DELIVERY_RUNS = Symbol('DELIVERY_RUNS');

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
      provide: DELIVERY_RUNS,
      inject: [TEMPORAL_CLIENT, APP_CONFIG, DeliveriesRepository, OutboxRepository],
      useFactory: (
        client: Client,
        config: AppConfig,
        deliveries: DeliveriesRepository,
        outbox: OutboxRepository,
      ): DeliveryRuns => ({
        client,
        taskQueue: config.temporalTaskQueue,
        policy: config.delivery,
        deliveries,
        outbox,
      }),
    },
    {
      provide: DeliverySignals,
      inject: [DELIVERY_RUNS],
      useFactory: (runs: DeliveryRuns) => new DeliverySignals(runs),
    },
    {
      provide: DeadLetterRedriver,
      inject: [DELIVERY_RUNS],
      useFactory: (runs: DeliveryRuns) => new DeadLetterRedriver(runs),
    },
    {
      provide: OperationalEvents,
      inject: [EventsRepository, SubscriptionsRepository, APP_CONFIG],
      useFactory: (events: EventsRepository, subscriptions: SubscriptionsRepository, config: AppConfig) =>
        new OperationalEvents(events, subscriptions, config.platformTenantId),
    },
    {
      provide: SubscriptionDisabler,
      inject: [SubscriptionsRepository, DeliverySignals, OperatorActionsRepository, OperationalEvents],
      useFactory: (
        subscriptions: SubscriptionsRepository,
        signals: DeliverySignals,
        operatorActions: OperatorActionsRepository,
        operational: OperationalEvents,
      ) => new SubscriptionDisabler(subscriptions, signals, operatorActions, operational),
    },
  ],
  exports: [TEMPORAL_CLIENT, DeliverySignals, DeadLetterRedriver, SubscriptionDisabler, OperationalEvents],
})
export class TemporalClientModule implements OnApplicationShutdown {
  constructor(@Inject(TEMPORAL_CLIENT) private readonly client: Client) {}

  async onApplicationShutdown(): Promise<void> {
    await this.client.connection.close();
  }
}
