import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { StoredEvent } from '../contracts/envelope';
import {
  AutomaticDisable,
  certificateExpiringEvent,
  deadLetteredEvent,
  disablesAt,
  EndedDelivery,
  failingTooLong,
  FailingWarningReason,
  subscriptionFailingEvent,
  subscriptionDisabledEvent,
  subscriptionRecoveredEvent,
} from '../contracts/operational-event-builders';
import type { ExpiringCertificate } from '../db/client-certificates.repository';
import { EventsRepository } from '../db/events.repository';
import { SubscriptionsRepository } from '../db/subscriptions.repository';

/**
 * When a failing subscription is warned (SUBSCRIPTION_FAILING_WARN_AFTER, 0: never by time;
 * SUBSCRIPTION_FAILING_WARN_ON_DEAD_LETTER) and disabled (SUBSCRIPTION_FAILURE_DISABLE_AFTER, 0: never).
 */
export interface FailingSettings {
  warnAfterMs: number;
  warnOnDeadLetter: boolean;
  disableAfterMs: number;
}

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
    private readonly failing: FailingSettings = { warnAfterMs: 0, warnOnDeadLetter: false, disableAfterMs: 0 },
  ) {}

  async subscriptionDisabled(
    disabled: { tenantId: string; subscriptionId: string; message: string; actor: string; waitingStopped: number },
    cause: AutomaticDisable | undefined,
  ): Promise<void> {
    await this.emit(subscriptionDisabledEvent(disabled, cause, new Date()), disabled.subscriptionId);
  }

  /** A reported dead letter (the receiver's failing) also warns its subscription (SUBSCRIPTION_FAILING_WARN_ON_DEAD_LETTER). */
  async deliveryDeadLettered(delivery: EndedDelivery, reason: string): Promise<void> {
    const event = deadLetteredEvent(delivery, reason, new Date());
    if (event === undefined) return;
    await this.emit(event, delivery.subscription_id);
    if (this.failing.warnOnDeadLetter) await this.subscriptionFailing(delivery.subscription_id, 'dead_lettered');
  }

  /**
   * A failed attempt of the run of failures begun at `failingSince`: warns once the run has lasted
   * SUBSCRIPTION_FAILING_WARN_AFTER. Best effort, since the attempt is recorded already: a run not marked warned
   * is warned at its next failed attempt (what went wrong goes to `log`).
   */
  async subscriptionFailed(
    subscriptionId: string,
    failingSince: Date | null,
    log: Pick<Logger, 'warn'>,
  ): Promise<void> {
    if (!failingTooLong(failingSince, Date.now(), this.failing.warnAfterMs)) return;
    await this.subscriptionFailing(subscriptionId, 'failing').catch((error: Error) =>
      log.warn({ subscription_id: subscriptionId, error: error.message }, 'failing warning not sent yet'),
    );
  }

  /**
   * The first success after the run of failures begun at `failingSince`: the event first, then the run ends, so a
   * fault in between emits the same event (same id) on the next success instead of none.
   */
  async subscriptionRecovered(subscription: { id: string; tenantId: string }, failingSince: Date): Promise<void> {
    await this.emit(subscriptionRecoveredEvent(subscription, failingSince, new Date()), subscription.id);
    await this.subscriptions.clearFailing(subscription.id, failingSince);
  }

  /** A subscription's client certificate expires soon (once per certificate). */
  async certificateExpiring(certificate: ExpiringCertificate): Promise<void> {
    await this.emit(certificateExpiringEvent(certificate, new Date()), certificate.subscriptionId);
  }

  /**
   * The warning before an automatic disable, once per run of failures: the event first (its id names the run, so
   * concurrent or retried warnings store one), then the run is marked warned, so later failures skip it with a read.
   * Nothing when the subscription is not failing (any more), is disabled, or its run was warned already.
   */
  private async subscriptionFailing(subscriptionId: string, reason: FailingWarningReason): Promise<void> {
    const run = await this.subscriptions.failingRun(subscriptionId);
    if (run === undefined || run.warned) return;
    const disables = disablesAt(run.failingSince, this.failing.disableAfterMs);
    await this.emit(
      subscriptionFailingEvent(
        { id: subscriptionId, tenantId: run.tenantId },
        run.failingSince,
        reason,
        disables,
        new Date(),
      ),
      subscriptionId,
    );
    await this.subscriptions.markFailingWarned(subscriptionId, run.failingSince, disables);
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
