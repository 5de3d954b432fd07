import { ORDERING_KEY_HEADER } from '../contracts/ordering-key';
import { renderDeliveryBody, StoredEvent } from '../contracts/envelope';
import { SubscriptionTarget } from '../db/subscription-records';
import { deliveryHeaders } from '../signing/signing';
import { OAuth2Tokens } from './oauth2-tokens';
import { SendOutcome, WebhookSender } from './webhook-sender';

export interface SignedDeliveryOutcome extends SendOutcome {
  succeeded: boolean;
  body: string;
}

/** Where a signed attempt goes: POSTed to the subscription's URL (WebhookSender) or handed to a listen session. */
export type DeliverySender = Pick<WebhookSender, 'send'>;

/** The way out to receivers: the sender, and the OAuth2 tokens of the subscriptions that need one. */
export interface Outbound {
  sender: DeliverySender;
  tokens: OAuth2Tokens;
}

/** A receiver's 401 to a request with our token: the token is fetched again once and the request sent again. */
const UNAUTHORIZED = 401;

/**
 * Renders, signs and POSTs one attempt of an event to a subscription, with the receiver's own credentials (its
 * headers, an OAuth2 bearer token, a client certificate): the single path shared by real deliveries (the attempt
 * activity) and test sends, so both carry the same body, headers and outbound rules.
 */
export async function sendSignedDelivery(
  { sender, tokens }: Outbound,
  subscription: SubscriptionTarget,
  { event, orderingKey }: { event: StoredEvent; orderingKey: string | null },
  attempt: number,
  timeoutMs: number,
): Promise<SignedDeliveryOutcome> {
  const body = renderDeliveryBody(event, { attempt, subscriptionId: subscription.id });
  const { headers: receiverHeaders, oauth2, tlsClient } = subscription.credentials;
  const headers: Record<string, string> = {
    ...Object.fromEntries(
      receiverHeaders
        // The OAuth2 token is the authorization when both are set.
        .filter(({ name }) => oauth2 === null || name.toLowerCase() !== 'authorization')
        .map(({ name, value }) => [name, value]),
    ),
    ...deliveryHeaders({
      secrets: subscription.signingSecrets,
      eventId: event.event_id,
      eventType: event.event_type,
      attempt,
      timestampSeconds: Math.floor(Date.now() / 1000),
      body,
    }),
  };
  // The key travels beside the body, not in it: the body's envelope is fixed and the signature covers the body alone.
  if (orderingKey !== null) headers[ORDERING_KEY_HEADER] = orderingKey;
  const startedAt = new Date();
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  // Token fetches and the POSTs share the attempt's one budget.
  const signal = AbortSignal.timeout(timeoutMs);
  const post = async (token: string | undefined): Promise<SignedDeliveryOutcome> => {
    const sent = await sender.send(
      subscription.url,
      token === undefined ? headers : { ...headers, authorization: `Bearer ${token}` },
      body,
      timeoutMs,
      tlsClient,
      signal,
    );
    const succeeded = sent.statusCode !== null && sent.statusCode >= 200 && sent.statusCode < 300;
    return { ...sent, startedAt, durationMs: elapsed(), succeeded, body };
  };
  if (oauth2 === null) return post(undefined);

  const tokenFailed = (failure: string): SignedDeliveryOutcome => ({
    startedAt,
    durationMs: elapsed(),
    statusCode: null,
    error: failure,
    responseExcerpt: null,
    retryAfterMs: null,
    networkFailure: 'oauth_token',
    succeeded: false,
    body,
  });
  const first = await tokens.token(subscription.id, oauth2, signal);
  if ('failure' in first) return tokenFailed(first.failure);
  const sent = await post(first.token);
  if (sent.statusCode !== UNAUTHORIZED) return sent;
  const renewed = await tokens.token(subscription.id, oauth2, signal, first.token);
  if ('failure' in renewed) return tokenFailed(renewed.failure);
  return post(renewed.token);
}
