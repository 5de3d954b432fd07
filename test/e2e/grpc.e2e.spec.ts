import { Metadata, ServiceError, status } from '@grpc/grpc-js';
import { uniqueTenant } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { subscribeReceiver } from '../helpers/fixtures';
import { reflectionClient, webhooksClient } from '../helpers/grpc-clients';
import { TestReceiver } from '../helpers/receiver';
import { Stack, startStack, WAITING_POLICY } from '../helpers/stack';

let stack: Stack;
let client: any;
let reflection: any;

function auth(key: string | null) {
  const metadata = new Metadata();
  if (key !== null) metadata.set('authorization', `Bearer ${key}`);
  return metadata;
}

function call<T = any>(method: string, request: unknown, key: string | null = stack.apiKey): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method](request, auth(key), (error: ServiceError | null, response: T) =>
      error ? reject(error) : resolve(response),
    ),
  );
}

async function failure(promise: Promise<unknown>): Promise<{ code: status; errorCode: string }> {
  try {
    await promise;
  } catch (error) {
    const serviceError = error as ServiceError;
    return { code: serviceError.code, errorCode: String(serviceError.metadata.get('error-code')[0]) };
  }
  throw new Error('the call succeeded');
}

const struct = (object: Record<string, string>) => ({
  fields: Object.fromEntries(Object.entries(object).map(([k, v]) => [k, { stringValue: v }])),
});

beforeAll(async () => {
  stack = await startStack(WAITING_POLICY);
  client = webhooksClient(stack.grpcAddress);
  reflection = reflectionClient(stack.grpcAddress, 'v1alpha');
});
afterAll(async () => {
  client?.close();
  reflection?.close();
  await stack?.stop();
});

describe('gRPC (intelliauth.webhooks.v1.WebhooksService)', () => {
  it('publishes idempotently and reads the event and its delivery back, the same as REST', async () => {
    const receiver = new TestReceiver();
    const { tenantId, id: subscriptionId } = await subscribeReceiver(stack, receiver);
    const request = {
      event_id: `evt_grpc_${tenantId}`,
      event_type: 'user.signed_up',
      tenant: { id: tenantId, slug: 'acme' },
      actor: struct({ kind: 'user', id: 'usr_9' }),
      data: { fields: { user: { structValue: struct({ id: 'usr_9', email: 'nine@example.com' }) } } },
    };
    const first = await call('Publish', request);
    expect(first).toMatchObject({
      event_id: request.event_id,
      replayed: false,
      deliveries: [{ id: expect.any(String), subscription_id: subscriptionId }],
    });
    const second = await call('Publish', request);
    expect(second).toEqual({ ...first, replayed: true });
    const conflict = await failure(
      call('Publish', { ...request, data: { fields: { user: { structValue: struct({ id: 'usr_other' }) } } } }),
    );
    expect(conflict).toEqual({ code: status.ALREADY_EXISTS, errorCode: 'event_conflict' });

    await eventually(() => receiver.requests.length === 1, { timeout: 20_000, description: 'the delivery' });
    expect(JSON.parse(receiver.requests[0].body).data).toEqual({ user: { id: 'usr_9', email: 'nine@example.com' } });

    const deliveryId = first.deliveries[0].id;
    const viaRest = (await eventually(
      async () => {
        const d = (await stack.request('GET', `/v1/deliveries/${deliveryId}`)).body;
        return d.status === 'delivered' ? d : undefined;
      },
      { timeout: 30_000, description: 'the delivery recorded delivered' },
    )) as any;
    const viaGrpc = await call('GetDelivery', { id: deliveryId });
    expect(viaGrpc).toMatchObject({
      id: deliveryId,
      status: 'delivered',
      attempt_count: 1,
      last_status_code: 200,
      created_at: viaRest.created_at,
      delivered_at: viaRest.delivered_at,
    });
    expect(viaGrpc.attempts).toEqual([expect.objectContaining({ attempt: 1, status_code: 200, succeeded: true })]);

    const event = await call('GetEvent', { event_id: request.event_id });
    expect(event).toMatchObject({
      event_id: request.event_id,
      event_type: 'user.signed_up',
      tenant: { id: tenantId, slug: 'acme' },
      deliveries: [{ id: deliveryId, status: 'delivered' }],
    });
    expect(event.data.fields.user.structValue.fields.email.stringValue).toBe('nine@example.com');

    const listed = await call('ListDeliveries', { tenant_id: tenantId, status: 'delivered', limit: 10 });
    expect(listed.deliveries.map((d: { id: string }) => d.id)).toEqual([deliveryId]);
    expect(listed.next_cursor).toBe('');
  });

  it('cancels, retries and redrives through the same services', async () => {
    const receiver = TestReceiver.answering(500);
    const { tenantId } = await subscribeReceiver(stack, receiver);
    const published = await call('Publish', {
      event_type: 'user.updated',
      tenant: { id: tenantId },
      data: { fields: { user: { structValue: struct({ id: 'u' }) } } },
    });
    const deliveryId = published.deliveries[0].id;
    await eventually(async () => (await call('GetDelivery', { id: deliveryId })).status === 'retry_scheduled', {
      timeout: 20_000,
      description: 'waiting',
    });
    expect(await call('RetryDelivery', { id: deliveryId })).toEqual({ id: deliveryId, status: 'retry_requested' });
    await eventually(async () => (await call('GetDelivery', { id: deliveryId })).status === 'dead_lettered', {
      timeout: 20_000,
      description: 'dead letter',
    });
    expect(await failure(call('CancelDelivery', { id: deliveryId, reason: 'late' }))).toEqual({
      code: status.FAILED_PRECONDITION,
      errorCode: 'delivery_not_active',
    });
    receiver.respondWith(() => ({ status: 200 }));
    expect(await call('RedriveDeadLetter', { id: deliveryId })).toEqual({ id: deliveryId, status: 'pending' });
    await eventually(async () => (await call('GetDelivery', { id: deliveryId })).status === 'delivered', {
      timeout: 20_000,
      description: 'delivered',
    });
  });

  it('publishes with an ordering_key stored beside the event (else the catalogue derives one), and refuses a bad one', async () => {
    const { tenantId } = await subscribeReceiver(stack, new TestReceiver());
    const event = {
      event_type: 'user.updated',
      tenant: { id: tenantId },
      data: { fields: { user: { structValue: struct({ id: 'usr_7' }) } } },
    };
    const keyOf = async (published: { event_id: string }) =>
      (await stack.client.get(`/v1/events/${published.event_id}`)).ordering_key;
    expect(await keyOf(await call('Publish', { ...event, ordering_key: 'account/7' }))).toBe('account/7');
    expect(await keyOf(await call('Publish', event))).toBe('user:usr_7');
    expect(await failure(call('Publish', { ...event, ordering_key: 'account 7' }))).toEqual({
      code: status.INVALID_ARGUMENT,
      errorCode: 'validation_failed',
    });
  });

  it('answers bad input and missing ids with canonical codes and the REST error codes', async () => {
    const tenant = { id: uniqueTenant() };
    expect(await failure(call('Publish', { event_type: 'user.teleported', tenant, data: struct({}) }))).toEqual({
      code: status.INVALID_ARGUMENT,
      errorCode: 'unknown_event_type',
    });
    expect(
      await failure(call('Publish', { event_type: 'webhook.subscription.disabled', tenant, data: struct({}) })),
    ).toEqual({
      code: status.INVALID_ARGUMENT,
      errorCode: 'operational_event_type',
    });
    expect(await failure(call('Publish', { event_type: 'user.updated', data: struct({}) }))).toEqual({
      code: status.INVALID_ARGUMENT,
      errorCode: 'validation_failed',
    });
    expect(await failure(call('Publish', { event_type: 'user.updated', tenant, data: struct({ x: 'y' }) }))).toEqual({
      code: status.INVALID_ARGUMENT,
      errorCode: 'invalid_event_data',
    });
    expect(
      await failure(
        call('Publish', {
          event_type: 'user.updated',
          tenant,
          occurred_at: '2001-01-01T00:00:00Z',
          data: { fields: { user: { structValue: struct({ id: 'u' }) } } },
        }),
      ),
    ).toEqual({
      code: status.INVALID_ARGUMENT,
      errorCode: 'occurred_at_out_of_range',
    });
    expect(await failure(call('GetEvent', { event_id: 'evt_nope' }))).toEqual({
      code: status.NOT_FOUND,
      errorCode: 'event_not_found',
    });
    expect(await failure(call('GetDelivery', { id: 'whdlv_nope' }))).toEqual({
      code: status.NOT_FOUND,
      errorCode: 'delivery_not_found',
    });
    expect(await failure(call('RedriveDeadLetter', { id: 'whdlv_nope' }))).toEqual({
      code: status.NOT_FOUND,
      errorCode: 'dead_letter_not_found',
    });
    expect(await failure(call('ListDeliveries', { status: 'lost' }))).toEqual({
      code: status.INVALID_ARGUMENT,
      errorCode: 'invalid_query',
    });
  });

  it('authenticates through metadata and scopes tenant keys', async () => {
    expect(await failure(call('GetDelivery', { id: 'x' }, null))).toEqual({
      code: status.UNAUTHENTICATED,
      errorCode: 'unauthorized',
    });
    expect(await failure(call('GetDelivery', { id: 'x' }, 'wrong-key-0123456789'))).toEqual({
      code: status.UNAUTHENTICATED,
      errorCode: 'unauthorized',
    });
    const tenantId = uniqueTenant();
    const key = (await stack.request('POST', `/v1/tenants/${tenantId}/api-keys`, {})).body.key;
    expect(
      await failure(call('Publish', { event_type: 'user.updated', tenant: { id: tenantId }, data: struct({}) }, key)),
    ).toEqual({
      code: status.PERMISSION_DENIED,
      errorCode: 'service_key_required',
    });
    const other = await subscribeReceiver(stack, new TestReceiver());
    const othersDelivery = (
      await call('Publish', {
        event_type: 'user.updated',
        tenant: { id: other.tenantId },
        data: { fields: { user: { structValue: struct({ id: 'u' }) } } },
      })
    ).deliveries[0].id;
    expect(await failure(call('GetDelivery', { id: othersDelivery }, key))).toEqual({
      code: status.NOT_FOUND,
      errorCode: 'delivery_not_found',
    });
    expect((await call('ListDeliveries', {}, key)).deliveries).toEqual([]);
    expect(await failure(call('ListDeliveries', { tenant_id: other.tenantId }, key))).toEqual({
      code: status.PERMISSION_DENIED,
      errorCode: 'permission_denied',
    });
  });

  it('lets a generic client discover the service by reflection', async () => {
    const services: string[] = await new Promise((resolve, reject) => {
      const stream = reflection.ServerReflectionInfo();
      stream.on('data', (response: any) => {
        resolve(response.list_services_response.service.map((s: { name: string }) => s.name));
        stream.end();
      });
      stream.on('error', reject);
      stream.write({ list_services: '' });
    });
    expect(services).toContain('intelliauth.webhooks.v1.WebhooksService');
  });
});
