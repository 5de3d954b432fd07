import type { EventType } from './catalogue';

export interface EventActor {
  kind: string;
  id?: string;
  email?: string;
  [extra: string]: unknown;
}

export interface EventTenant {
  id: string;
  slug?: string;
}

/** An event as published and stored: the product contract's envelope without `delivery`. */
export interface StoredEvent {
  event_id: string;
  event_type: EventType;
  occurred_at: string;
  tenant: EventTenant;
  actor?: EventActor;
  data: Record<string, unknown>;
}

/**
 * The exact body of one attempt: compact JSON in the product contract's field order, `delivery` set per attempt.
 * The signatures are computed over these bytes, so this is the only place the body is rendered.
 */
export function renderDeliveryBody(event: StoredEvent, delivery: { attempt: number; subscriptionId: string }): string {
  const envelope: Record<string, unknown> = {
    event_id: event.event_id,
    event_type: event.event_type,
    occurred_at: event.occurred_at,
    tenant: event.tenant,
  };
  if (event.actor !== undefined) envelope.actor = event.actor;
  envelope.data = event.data;
  envelope.delivery = { attempt: delivery.attempt, subscription_id: delivery.subscriptionId };
  return JSON.stringify(envelope);
}
