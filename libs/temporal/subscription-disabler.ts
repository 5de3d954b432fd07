import { OperatorActionsRepository } from '../db/operator-actions.repository';
import { SubscriptionsRepository, SubscriptionView, TenantScope } from '../db/subscriptions.repository';
import { DeliverySignals } from './delivery-signals';

/**
 * Disabling a subscription, whoever asks (an operator through the API, or the receiver itself answering 410 Gone):
 * no new deliveries, the waiting ones end as dead letters (`subscription_disabled`), and the audit log says who.
 */
export class SubscriptionDisabler {
  constructor(
    private readonly subscriptions: SubscriptionsRepository,
    private readonly signals: DeliverySignals,
    private readonly audit: OperatorActionsRepository,
  ) {}

  async disable(id: string, scope: TenantScope, reason: string, actor: string): Promise<SubscriptionView | undefined> {
    const audited = await this.audit.audited(
      (client) => this.subscriptions.setEnabled(id, scope, false, reason, client),
      (disabled) => ({ tenantId: disabled.tenant_id, action: 'subscription.disable', targetType: 'subscription', targetId: id, actor, details: { reason } }),
    );
    if (!audited) return undefined;
    // Committed first: a process that dies here leaves waiting deliveries that stop at their next attempt, which
    // reads the subscription disabled.
    await this.audit.carryOut(
      audited.actionId,
      () => this.signals.stopWaitingDeliveries(id, { reason: 'subscription_disabled' }),
      (stopped) => ({ waiting_deliveries_stopped: stopped }),
    );
    return audited.result;
  }
}
