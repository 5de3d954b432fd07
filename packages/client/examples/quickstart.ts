import { createWebhooksClient } from '@intelliauth/webhooks-client';

export async function quickstart(baseUrl: string, apiKey: string, tenantId: string, receiverUrl: string) {
  const api = createWebhooksClient({ baseUrl, apiKey });

  const { data: subscription, error } = await api.POST('/v1/subscriptions', {
    body: { tenant_id: tenantId, url: receiverUrl, event_types: ['user.*'] },
  });
  if (error) throw new Error(`${error.error.code}: ${error.error.message}`);
  console.log(`subscribed ${subscription.id}; keep the secret ${subscription.secret.slice(0, 6)}… in the receiver`);

  // `data` is typed by `event_type`: user.signed_up requires data.user.id.
  const { data: published } = await api.POST('/v1/events', {
    body: {
      event_type: 'user.signed_up',
      tenant: { id: tenantId },
      data: { user: { id: 'usr_1', email: 'anita@example.com' } },
    },
  });

  const { data: delivery } = await api.GET('/v1/deliveries/{id}', {
    params: { path: { id: published!.deliveries[0].id } },
  });
  console.log(`delivery ${delivery!.id} is ${delivery!.status} after ${delivery!.attempt_count} attempt(s)`);
  return { subscription, published: published!, delivery: delivery! };
}
