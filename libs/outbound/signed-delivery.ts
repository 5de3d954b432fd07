import { ORDERING_KEY_HEADER } from '../contracts/ordering-key';
import { renderDeliveryBody, StoredEvent } from '../contracts/envelope';
import { SubscriptionTarget } from '../db/subscriptions.repository';
import { deliveryHeaders } from '../signing/signing';
import { SendOutcome, WebhookSender } from './webhook-sender';

/** Where a signed attempt goes: POSTed to the subscription's URL (WebhookSender) or handed to a listen session. */
export type DeliverySender = Pick<WebhookSender, 'send'>;

export interface SignedDeliveryOutcome extends SendOutcome {
  succeeded: boolean;
  body: string;
}

/**
 * Renders, signs and POSTs one attempt of an event to a subscription: the single path shared by real deliveries
 * (the attempt activity) and test sends, so both carry the same body, headers and outbound rules.
 */
export async function sendSignedDelivery(
  sender: DeliverySender,
  subscription: SubscriptionTarget,
  { event, orderingKey }: { event: StoredEvent; orderingKey: string | null },
  attempt: number,
  timeoutMs: number,
): Promise<SignedDeliveryOutcome> {
  const body = renderDeliveryBody(event, { attempt, subscriptionId: subscription.id });
  const headers = deliveryHeaders({
    secrets: subscription.signingSecrets,
    eventId: event.event_id,
    eventType: event.event_type,
    attempt,
    timestampSeconds: Math.floor(Date.now() / 1000),
    body,
  });
  // The key travels beside the body, not in it: the body's envelope is fixed and the signature covers the body alone.
  if (orderingKey !== null) headers[ORDERING_KEY_HEADER] = orderingKey;
  const sent = await sender.send(subscription.url, headers, body, timeoutMs);
  const succeeded = sent.statusCode !== null && sent.statusCode >= 200 && sent.statusCode < 300;
  return { ...sent, succeeded, body };
}
