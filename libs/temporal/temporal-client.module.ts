import { Global, Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig, requireSetting } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DeliveriesRepository } from '../db/deliveries.repository';
import { EventsRepository } from '../db/events.repository';
import { OperatorActionsRepository } from '../db/operator-actions.repository';
import { OutboxRepository } from '../db/outbox.repository';
import { SubscriptionsRepository } from '../db/subscriptions.repository';
import { OperationalEvents } from '../operational/operational-event-emitter';
import { OnDemandTemporalClient } from './client';
import { DeadLetterRedriver } from './dead-letter-redriver';
import { DeliveryRunDependencies } from './delivery-run-options';
import { DeliverySignals } from './delivery-signals';
import { SubscriptionDisabler } from './subscription-disabler';

const DELIVERY_RUN_DEPENDENCIES = Symbol('DELIVERY_RUN_DEPENDENCIES');

@Global()
@Module({
  providers: [
    {
      provide: OnDemandTemporalClient,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        new OnDemandTemporalClient(
          requireSetting(config.temporalAddress, 'TEMPORAL_ADDRESS'),
          config.temporalNamespace,
        ),
    },
    {
      provide: DELIVERY_RUN_DEPENDENCIES,
      inject: [OnDemandTemporalClient, APP_CONFIG, DeliveriesRepository, OutboxRepository],
      useFactory: (
        client: OnDemandTemporalClient,
        config: AppConfig,
        deliveries: DeliveriesRepository,
        outbox: OutboxRepository,
      ): DeliveryRunDependencies => ({
        client,
        taskQueue: config.temporalTaskQueue,
        policy: config.delivery,
        deliveries,
        outbox,
      }),
    },
    {
      provide: DeliverySignals,
      inject: [DELIVERY_RUN_DEPENDENCIES],
      useFactory: (deps: DeliveryRunDependencies) => new DeliverySignals(deps),
    },
    {
      provide: DeadLetterRedriver,
      inject: [DELIVERY_RUN_DEPENDENCIES],
      useFactory: (deps: DeliveryRunDependencies) => new DeadLetterRedriver(deps),
    },
    {
      provide: OperationalEvents,
      inject: [EventsRepository, SubscriptionsRepository, APP_CONFIG],
      useFactory: (events: EventsRepository, subscriptions: SubscriptionsRepository, config: AppConfig) =>
        new OperationalEvents(events, subscriptions, config.platformTenantId, {
          warnAfterMs: config.failingWarning.afterMs,
          warnOnDeadLetter: config.failingWarning.onDeadLetter,
          disableAfterMs: config.failureDisableAfterMs,
        }),
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
  exports: [OnDemandTemporalClient, DeliverySignals, DeadLetterRedriver, SubscriptionDisabler, OperationalEvents],
})
export class TemporalClientModule implements OnApplicationShutdown {
  constructor(private readonly client: OnDemandTemporalClient) {}

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }
}
