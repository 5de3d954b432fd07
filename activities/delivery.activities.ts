import { ApplicationFailure } from '@temporalio/activity';
import { SubscriptionLimits, throttleBackoffMs } from '../libs/contracts/throttle-policy';
import { DeliveriesRepository } from '../libs/db/deliveries.repository';
import type { SubscriptionDisabler } from '../libs/temporal/subscription-disabler';
import { sendSignedDelivery } from './signed-delivery';
import { WebhookSender } from './webhook-sender';

export interface AttemptInput {
  deliveryId: string;
  attempt: number;
  attemptTimeoutMs: number;
  deadline: string;
  /** How many times in a row this attempt found no permit free (0 or absent: the first try). */
  throttledTimes?: number;
}

export type StopReason = 'subscription_disabled' | 'subscription_deleted' | 'expired';

export type AttemptOutcome =
  | { kind: 'delivered'; statusCode: number | null; error: null }
  | { kind: 'failed'; statusCode: number | null; error: string | null; retryAfterMs?: number | null }
  | { kind: 'stopped'; reason: StopReason }
  /** The subscription's limits had no permit free: nothing was sent or recorded as an attempt; look again after retryInMs. */
  | { kind: 'throttled'; retryInMs: number };

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
  /** The limits of subscriptions that set none (SUBSCRIPTION_MAX_IN_FLIGHT, SUBSCRIPTION_MAX_PER_SECOND). */
  defaultLimits: SubscriptionLimits;
}

/** Beyond the attempt's own budget, how long a permit outlives a worker that died holding it. */
const PERMIT_LEASE_MARGIN_MS = 5_000;

export function createDeliveryActivities({ deliveries, sender, disabler, defaultLimits }: DeliveryActivityDependencies) {
  return {
    /** One signed POST to the subscription's current URL, recorded in Postgres; the outcome is data, never a throw. */
    async attemptDelivery(input: AttemptInput): Promise<AttemptOutcome> {
      const context = await deliveries.attemptContext(input.deliveryId, {
        defaults: defaultLimits,
        leaseMs: input.attemptTimeoutMs + PERMIT_LEASE_MARGIN_MS,
        backoffMs: throttleBackoffMs(input.throttledTimes ?? 0, Math.random()),
      });
      if (context === undefined) {
        throw ApplicationFailure.nonRetryable(`delivery ${input.deliveryId} does not exist`, 'DeliveryNotFound');
      }
      if (context.throttledForMs !== null) return { kind: 'throttled', retryInMs: context.throttledForMs };
      // A previous try of this activity may have delivered and recorded it before the worker died.
      if (context.delivery.status === 'delivered') return { kind: 'delivered', statusCode: null, error: null };
      const { subscription } = context;
      if (subscription === undefined || subscription.deleted) return { kind: 'stopped', reason: 'subscription_deleted' };
      if (!subscription.enabled) return { kind: 'stopped', reason: 'subscription_disabled' };
      if (Date.now() > Date.parse(input.deadline)) {
        await deliveries.releasePermit(input.deliveryId);
        return { kind: 'stopped', reason: 'expired' };
      }

      const sent = await sendSignedDelivery(sender, subscription, context.event, input.attempt, input.attemptTimeoutMs);
      await deliveries.recordAttempt({ deliveryId: input.deliveryId, attempt: input.attempt, ...sent });
      if (sent.succeeded) return { kind: 'delivered', statusCode: sent.statusCode, error: null };
      if (sent.statusCode === GONE) {
        await disabler.disable(subscription.id, undefined, 'receiver answered 410 Gone', 'receiver');
        return { kind: 'stopped', reason: 'subscription_disabled' };
      }
      return { kind: 'failed', statusCode: sent.statusCode, error: sent.error, retryAfterMs: sent.retryAfterMs };
    },

    async recordDeliveryState(input: RecordStateInput): Promise<void> {
      await deliveries.recordState(input.deliveryId, {
        status: input.status,
        nextAttemptAt: input.nextAttemptAt === null ? null : new Date(input.nextAttemptAt),
        failureReason: input.failureReason,
      });
    },
  };
}

export type DeliveryActivities = ReturnType<typeof createDeliveryActivities>;
