import { ApplicationFailure } from '@temporalio/activity';
import { isOperationalEventType } from '../libs/contracts/catalogue';
import { failingTooLong } from '../libs/contracts/operational-events';
import { DeliveriesRepository } from '../libs/db/deliveries.repository';
import type { OperationalEvents } from '../libs/operational/operational-events';
import type { SubscriptionDisabler } from '../libs/temporal/subscription-disabler';
import { sendSignedDelivery } from './signed-delivery';
import { WebhookSender } from './webhook-sender';

export interface AttemptInput {
  deliveryId: string;
  attempt: number;
  attemptTimeoutMs: number;
  deadline: string;
}

export type StopReason = 'subscription_disabled' | 'subscription_deleted' | 'expired';

export type AttemptOutcome =
  | { kind: 'delivered'; statusCode: number | null; error: null }
  | { kind: 'failed'; statusCode: number | null; error: string | null; retryAfterMs?: number | null }
  | { kind: 'stopped'; reason: StopReason };

/** The receiver's own word that the endpoint is gone for good (Standard Webhooks): disable the subscription. */
export const GONE = 410;

export interface RecordStateInput {
  deliveryId: string;
  status: 'retry_scheduled' | 'dead_lettered' | 'cancelled';
  nextAttemptAt: string | null;
  failureReason: string | null;
}

export interface DeliveryActivityDependencies {
  deliveries: DeliveriesRepository;
  sender: WebhookSender;
  disabler: Pick<SubscriptionDisabler, 'disable'>;
  operational: Pick<OperationalEvents, 'deliveryDeadLettered' | 'subscriptionRecovered'>;
  /** SUBSCRIPTION_FAILURE_DISABLE_AFTER: a subscription failing every attempt this long is disabled; 0 never. */
  failureDisableAfterMs: number;
}

export function createDeliveryActivities({ deliveries, sender, disabler, operational, failureDisableAfterMs }: DeliveryActivityDependencies) {
  return {
    /** One signed POST to the subscription's current URL, recorded in Postgres; the outcome is data, never a throw. */
    async attemptDelivery(input: AttemptInput): Promise<AttemptOutcome> {
      const context = await deliveries.attemptContext(input.deliveryId);
      if (context === undefined) {
        throw ApplicationFailure.nonRetryable(`delivery ${input.deliveryId} does not exist`, 'DeliveryNotFound');
      }
      // A previous try of this activity may have delivered and recorded it before the worker died.
      if (context.delivery.status === 'delivered') return { kind: 'delivered', statusCode: null, error: null };
      const { subscription } = context;
      if (subscription === undefined || subscription.deleted) return { kind: 'stopped', reason: 'subscription_deleted' };
      if (!subscription.enabled) return { kind: 'stopped', reason: 'subscription_disabled' };
      if (Date.now() > Date.parse(input.deadline)) return { kind: 'stopped', reason: 'expired' };

      const sent = await sendSignedDelivery(sender, subscription, context.event, input.attempt, input.attemptTimeoutMs);
      // Deliveries of operational events stay out of failure tracking: their failures never emit another event.
      const tracksFailures = !isOperationalEventType(context.event.event_type);
      const failingSince = await deliveries.recordAttempt({ deliveryId: input.deliveryId, attempt: input.attempt, ...sent, tracksFailures });
      const cause = { deliveryId: input.deliveryId, attempt: input.attempt, failingSince };
      if (sent.succeeded) {
        if (tracksFailures && failingSince !== null) await operational.subscriptionRecovered(subscription, failingSince);
        return { kind: 'delivered', statusCode: sent.statusCode, error: null };
      }
      if (sent.statusCode === GONE) {
        await disabler.disable(subscription.id, undefined, 'receiver answered 410 Gone', 'receiver', { reason: 'gone', ...cause });
        return { kind: 'stopped', reason: 'subscription_disabled' };
      }
      if (tracksFailures && failingTooLong(failingSince, Date.now(), failureDisableAfterMs)) {
        const message = `every attempt has failed since ${failingSince.toISOString()}`;
        await disabler.disable(subscription.id, undefined, message, 'system', { reason: 'failing', ...cause });
        return { kind: 'stopped', reason: 'subscription_disabled' };
      }
      return { kind: 'failed', statusCode: sent.statusCode, error: sent.error, retryAfterMs: sent.retryAfterMs };
    },

    async recordDeliveryState(input: RecordStateInput): Promise<void> {
      const ended = await deliveries.recordState(input.deliveryId, {
        status: input.status,
        nextAttemptAt: input.nextAttemptAt === null ? null : new Date(input.nextAttemptAt),
        failureReason: input.failureReason,
      });
      if (ended !== undefined && input.status === 'dead_lettered') await operational.deliveryDeadLettered(ended, input.failureReason ?? '');
    },
  };
}

export type DeliveryActivities = ReturnType<typeof createDeliveryActivities>;
