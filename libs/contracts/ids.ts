import { ulid } from 'ulid';

/** Prefixed ULIDs: sortable by creation time, so cursor pagination can order by id. */
export const newEventId = (): string => `evt_${ulid()}`;
export const newSubscriptionId = (): string => `whsub_${ulid()}`;
export const newDeliveryId = (): string => `whdlv_${ulid()}`;

/** The delivery workflow's id, derived from the pair so a second start of the same pair is a no-op. */
export function deliveryWorkflowId(eventId: string, subscriptionId: string): string {
  return `delivery:${eventId}:${subscriptionId}`;
}
