import { ApplicationFailure } from '@temporalio/activity';
import { renderDeliveryBody } from '../libs/contracts/envelope';
import { DeliveriesRepository } from '../libs/db/deliveries.repository';
import { deliveryHeaders } from '../libs/signing/signing';
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

      const body = renderDeliveryBody(context.event, { attempt: input.attempt, subscriptionId: subscription.id });
      const headers = deliveryHeaders({
        secrets: subscription.signingSecrets,
        eventId: context.event.event_id,
        eventType: context.event.event_type,
        attempt: input.attempt,
        timestampSeconds: Math.floor(Date.now() / 1000),
        body,
      });
      const sent = await sender.send(subscription.url, headers, body, input.attemptTimeoutMs);
      const succeeded = sent.statusCode !== null && sent.statusCode >= 200 && sent.statusCode < 300;
      await deliveries.recordAttempt({ deliveryId: input.deliveryId, attempt: input.attempt, ...sent, succeeded });
      return { kind: succeeded ? 'delivered' : 'failed', statusCode: sent.statusCode, error: sent.error };
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
