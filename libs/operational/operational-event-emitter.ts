import { createHash } from 'node:crypto';
import { StoredEvent } from '../contracts/envelope';
import {
  AutomaticDisable,
  deadLetteredEvent,
  EndedDelivery,
  subscriptionDisabledEvent,
  subscriptionRecoveredEvent,
} from '../contracts/operational-event-builders';
import { EventsRepository } from '../db/events.repository';
import { SubscriptionsRepository } from '../db/subscriptions.repository';

/**
 * Emits the operational events (`webhook.*`) through the publish path itself, so they are stored, started by the
 * outbox relay, signed and retried like any event. An event of tenant T goes to T's subscriptions that name it,
 * except the subscription it is about, and to the platform tenant's subscriptions that name it.
 */
export class OperationalEvents {
  constructor(
    private readonly events: EventsRepository,
    private readonly subscriptions: SubscriptionsRepository,
    private readonly platformTenantId: string,
  ) {}

  async subscriptionDisabled(
    disabled: { tenantId: string; subscriptionId: string; message: string; actor: string; waitingStopped: number },
    cause: AutomaticDisable | undefined,
  ): Promise<void> {
    await this.emit(subscriptionDisabledEvent(disabled, cause, new Date()), disabled.subscriptionId);
  }

  async deliveryDeadLettered(delivery: EndedDelivery, reason: string): Promise<void> {
    const event = deadLetteredEvent(delivery, reason, new Date());
    if (event !== undefined) await this.emit(event, delivery.subscription_id);
  }

  /**
   * The first success after the run of failures begun at `failingSince`: the event first, then the run ends, so a
   * fault in between emits the same event (same id) on the next success instead of none.
   */
  async subscriptionRecovered(subscription: { id: string; tenantId: string }, failingSince: Date): Promise<void> {
    await this.emit(subscriptionRecoveredEvent(subscription, failingSince, new Date()), subscription.id);
    await this.subscriptions.clearFailing(subscription.id, failingSince);
  }

  /**
   * Emitting an id already stored (a retried activity) is a no-op, whatever its content. Operational events have no
   * ordering key: each is about one moment of a subscription, delivered as soon as it can be.
   */
  private async emit(event: StoredEvent, aboutSubscription: string): Promise<void> {
    const contentHash = createHash('sha256').update(JSON.stringify(event), 'utf8').digest('hex');
    await this.events.publish(event, contentHash, null, {
      tenants: [...new Set([event.tenant.id, this.platformTenantId])],
      excludedSubscription: aboutSubscription,
    });
  }
}
