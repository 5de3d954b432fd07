import { randomFillSync } from 'node:crypto';
import { ulid } from 'ulid';

/**
 * The ULIDs' randomness, drawn from the OS a few KiB at a time: ulid's default source makes one crypto call per
 * character, a measurable share of a publish (three ids per event).
 */
const randomPool = Buffer.alloc(4096);
let randomOffset = randomPool.length;
function pooledRandom(): number {
  if (randomOffset >= randomPool.length) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  return randomPool[randomOffset++] / 256;
}
const newUlid = () => ulid(undefined, pooledRandom);

/** A tenant id as the API accepts it (tenants are named by the platform, not made here). */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** What the ids made below look like: a string of any other shape names nothing this service has. */
const prefixedUlid = (prefix: string) => new RegExp(`^${prefix}_[0-9A-Z]{26}$`);
/** An event id: made here (evt_ + ULID) or chosen by the publisher, so wider than the others. */
export const EVENT_ID_PATTERN = /^evt_[A-Za-z0-9_-]{1,124}$/;
export const SUBSCRIPTION_ID_PATTERN = prefixedUlid('whsub');
export const DELIVERY_ID_PATTERN = prefixedUlid('whdlv');
export const API_KEY_ID_PATTERN = prefixedUlid('key');
export const PORTAL_SESSION_ID_PATTERN = prefixedUlid('psn');
export const BULK_REDRIVE_ID_PATTERN = prefixedUlid('redrv');
export const REPLAY_ID_PATTERN = prefixedUlid('rply');
export const LISTEN_REQUEST_ID_PATTERN = prefixedUlid('lreq');

/** Prefixed ULIDs: sortable by creation time, so cursor pagination can order by id. */
export const newEventId = (): string => `evt_${newUlid()}`;
export const newSubscriptionId = (): string => `whsub_${newUlid()}`;
export const newDeliveryId = (): string => `whdlv_${newUlid()}`;
export const newApiKeyId = (): string => `key_${newUlid()}`;
export const newPortalSessionId = (): string => `psn_${newUlid()}`;
export const newOperatorActionId = (): string => `opa_${newUlid()}`;
export const newBulkRedriveId = (): string => `redrv_${newUlid()}`;
export const newReplayId = (): string => `rply_${newUlid()}`;
export const newListenRequestId = (): string => `lreq_${newUlid()}`;
/** A test send's event (never stored): the prefix tells a receiver it is a test. */
export const newTestEventId = (): string => `evt_test_${newUlid()}`;

/** The delivery workflow's id, derived from the pair so a second start of the same pair is a no-op. */
export function deliveryWorkflowId(eventId: string, subscriptionId: string): string {
  return `${deliveryWorkflowIdPrefix(eventId)}${subscriptionId}`;
}

/** What every delivery workflow id of an event starts with (the publish statement appends the subscription id). */
export function deliveryWorkflowIdPrefix(eventId: string): string {
  return `delivery:${eventId}:`;
}
