import { TestClient } from './client';
import { uniqueTenant } from './database';
import { eventually } from './eventually';
import type { TestReceiver } from './receiver';
import type { Stack } from './stack';

/**
 * What most tests need before the thing they test: a tenant's key, a subscription, a published event, a delivery
 * in a given status, a dead letter, all made through the REST API as a caller would make them.
 */

export interface Subscribed {
  tenantId: string;
  id: string;
  secret: string;
}

/** A subscription to `url` for a tenant (a fresh one unless given), to every event type unless told. */
export async function subscribe(
  client: TestClient,
  url: string,
  fields: { tenantId?: string; eventTypes?: string[]; [field: string]: unknown } = {},
): Promise<Subscribed> {
  const { tenantId = uniqueTenant(), eventTypes = ['*'], ...rest } = fields;
  const created = await client.post(
    '/v1/subscriptions',
    { tenant_id: tenantId, url, event_types: eventTypes, ...rest },
    201,
  );
  return { tenantId, id: created.id, secret: created.secret };
}

/** A valid event of the tenant: a user.updated unless the fields say otherwise. */
export const eventOf = (tenantId: string, fields: Record<string, unknown> = {}) => ({
  event_type: 'user.updated',
  tenant: { id: tenantId },
  data: { user: { id: 'usr_1' } },
  ...fields,
});

export interface Published {
  eventId: string;
  deliveries: Array<{ id: string; subscription_id: string }>;
}

/** Publishes eventOf(tenantId, fields), accepted (202). */
export async function publish(
  client: TestClient,
  tenantId: string,
  fields: Record<string, unknown> = {},
): Promise<Published> {
  const published = await client.post('/v1/events', eventOf(tenantId, fields), 202);
  return { eventId: published.event_id, deliveries: published.deliveries };
}

/** The delivery once it is in this status (its full view, attempts included). */
export function deliveryIn(client: TestClient, deliveryId: string, status: string, timeout = 20_000): Promise<any> {
  return eventually(
    async () => {
      const delivery = await client.get(`/v1/deliveries/${deliveryId}`);
      return delivery.status === status ? delivery : undefined;
    },
    { timeout, description: `${deliveryId} to be ${status}` },
  );
}

/**
 * A dead letter: an event published to the tenant's subscriptions, whose receiver must fail. A failed attempt left
 * waiting for its retry is retried at once, once, so a policy of two attempts dead-letters within the test too.
 */
export async function deadLetter(
  client: TestClient,
  tenantId: string,
  fields: Record<string, unknown> = {},
): Promise<string> {
  const deliveryId = (await publish(client, tenantId, fields)).deliveries[0].id;
  const failed = await eventually(
    async () => (await client.get<{ status: string }>(`/v1/deliveries/${deliveryId}`)).status,
    {
      timeout: 20_000,
      description: `${deliveryId} to fail`,
      until: (status) => status === 'retry_scheduled' || status === 'dead_lettered',
    },
  );
  if (failed === 'retry_scheduled') await client.post(`/v1/deliveries/${deliveryId}/retry`, undefined, 202);
  await deliveryIn(client, deliveryId, 'dead_lettered');
  return deliveryId;
}

/** A tenant's own API key (201, shown once). */
export async function tenantKey(
  client: TestClient,
  tenantId: string,
  name?: string,
): Promise<{ id: string; key: string }> {
  const created = await client.post(`/v1/tenants/${tenantId}/api-keys`, name === undefined ? {} : { name }, 201);
  return { id: created.id, key: created.key };
}

/** Starts the receiver with the stack (it stops with it) and subscribes it. */
export async function subscribeReceiver(
  stack: Pick<Stack, 'client' | 'startReceiver'>,
  receiver: TestReceiver,
  fields: Parameters<typeof subscribe>[2] = {},
): Promise<Subscribed> {
  return subscribe(stack.client, await stack.startReceiver(receiver), fields);
}

/** A fresh tenant's subscription to the receiver, and one event published to it (eventOf its `event` fields). */
export async function publishTo(
  stack: Pick<Stack, 'client' | 'startReceiver'>,
  receiver: TestReceiver,
  event: Record<string, unknown> = {},
  subscription: Parameters<typeof subscribe>[2] = {},
): Promise<{ tenantId: string; subscriptionId: string; eventId: string; deliveryId: string }> {
  const { tenantId, id: subscriptionId } = await subscribeReceiver(stack, receiver, subscription);
  const published = await publish(stack.client, tenantId, event);
  return { tenantId, subscriptionId, eventId: published.eventId, deliveryId: published.deliveries[0].id };
}
