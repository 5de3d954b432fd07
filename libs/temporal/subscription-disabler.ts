import { AutomaticDisable } from '../contracts/operational-event-builders';
import { OperatorActionsRepository } from '../db/operator-actions.repository';
import type { TenantScope } from '../db/rows';
import { SubscriptionView } from '../db/subscription-records';
import { SubscriptionsRepository } from '../db/subscriptions.repository';
import { OperationalEvents } from '../operational/operational-event-emitter';
import { DeliverySignals } from './delivery-signals';

/**
 * Disabling a subscription, whoever asks (an operator through the API, or the receiver itself answering 410 Gone):
 * no new deliveries, the waiting ones end as dead letters (`subscription_disabled`), the operator actions say who, and
 * `webhook.subscription.disabled` tells the tenant's and the platform's alerting receivers why.
 */
export class SubscriptionDisabler {
  constructor(
    private readonly subscriptions: SubscriptionsRepository,
    private readonly signals: DeliverySignals,
    private readonly operatorActions: OperatorActionsRepository,
    private readonly operational: OperationalEvents,
  ) {}

  /** `cause` is set when the subscription disabled itself (410, failing); absent, an operator asked. */
  async disable(
    id: string,
    scope: TenantScope,
    reason: string,
    actor: string,
    cause?: AutomaticDisable,
  ): Promise<SubscriptionView | undefined> {
    const recorded = await this.operatorActions.changeAndRecord(
      (client) => this.subscriptions.setEnabled(id, scope, false, reason, client),
      (disabled) => ({
        tenantId: disabled.tenant_id,
        action: 'subscription.disable',
        targetType: 'subscription',
        targetId: id,
        actor,
        details: { reason },
      }),
    );
    if (!recorded) return undefined;
    // Committed first: a process that dies here leaves waiting deliveries that stop at their next attempt, which
    // reads the subscription disabled.
    const stopped = await this.operatorActions.carryOut(
      recorded.actionId,
      () => this.signals.stopWaitingDeliveries(id, { reason: 'subscription_disabled' }),
      (count) => ({ waiting_deliveries_stopped: count }),
    );
    const disabled = recorded.result;
    await this.operational.subscriptionDisabled(
      { tenantId: disabled.tenant_id, subscriptionId: id, message: reason, actor, waitingStopped: stopped },
      cause,
    );
    return disabled;
  }
}
