import { ApplicationFailure } from '@temporalio/activity';
import { DeliveriesRepository } from '../libs/db/deliveries.repository';
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
  | { kind: 'delivered' | 'failed'; statusCode: number | null; error: string | null }
  | { kind: 'stopped'; reason: StopReason };

export interface RecordStateInput {
  deliveryId: string;
  status: 'retry_scheduled' | 'dead_lettered' | 'cancelled';
  nextAttemptAt: string | null;
  failureReason: string | null;
}

export interface DeliveryActivityDependencies {
  deliveries: DeliveriesRepository;
  sender: WebhookSender;
}

export function createDeliveryActivities({ deliveries, sender }: DeliveryActivityDependencies) {
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
      await deliveries.recordAttempt({ deliveryId: input.deliveryId, attempt: input.attempt, ...sent });
      return { kind: sent.succeeded ? 'delivered' : 'failed', statusCode: sent.statusCode, error: sent.error };
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
