import { Pool } from 'pg';
import { testPool, uniqueTenant } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { deliveryIn, publish, subscribeReceiver } from '../helpers/fixtures';
import { ReceivedRequest, TestReceiver } from '../helpers/receiver';
import { Stack, startStack } from '../helpers/stack';

/** Two quick retries, then an hour's wait: a head that keeps failing stays at its key's head until a test moves it. */
const POLICY = { retryScheduleMs: [0, 1_000, 1_000, 3_600_000], attemptTimeoutMs: 2_000, ttlMs: 86_400_000 };

let stack: Stack;
let pool: Pool;

beforeAll(async () => {
  stack = await startStack(POLICY);
  pool = testPool();
}, 60_000);
afterAll(async () => {
  await pool?.end();
  await stack?.stop();
});

const eventIdOf = (request: ReceivedRequest) => request.headers['x-intelliauth-event-id'] as string;

/** A per_entity subscription of a fresh tenant to the receiver, which fails every request of `failing` event ids. */
async function orderedSubscription(failing: Set<string>) {
  const receiver = new TestReceiver((_index, request) => ({ status: failing.has(eventIdOf(request)) ? 500 : 200 }));
  const subscription = await subscribeReceiver(stack, receiver, {
    tenantId: uniqueTenant(),
    eventTypes: ['user.*'],
    ordering: 'per_entity',
  });
  expect((await stack.client.get(`/v1/subscriptions/${subscription.id}`)).ordering).toBe('per_entity');
  const publishFor = async (user: string, eventType = 'user.updated') =>
    (await publish(stack.client, subscription.tenantId, { event_type: eventType, data: { user: { id: user } } }))
      .eventId;
  return { receiver, subscription, publishFor };
}

describe('ordered delivery (ordering per_entity) on the real stack', () => {
  it("holds user A's later events behind A's first until it is delivered (after two failures), in publish order, while B..Z go meanwhile", async () => {
    const { receiver, publishFor } = await orderedSubscription(new Set());
    const a1 = await publishFor('usr_A', 'user.disabled');
    // A's first delivery fails twice, then succeeds: asking for 2 s each time (Retry-After, which doubles the second's
    // wait), its third attempt is about 4 s away, while the other users' events are published and delivered.
    let failuresLeft = 2;
    receiver.respondWith((_index, request) => {
      if (eventIdOf(request) !== a1 || failuresLeft === 0) return { status: 200 };
      failuresLeft -= 1;
      return { status: 503, headers: { 'retry-after': '2' } };
    });
    const others: string[] = [];
    const laterOfA: string[] = [];
    for (const letter of 'BCDEFGHIJKLMNOPQRSTUVWXYZ') {
      others.push(await publishFor(`usr_${letter}`));
      if (letter === 'H' || letter === 'P') laterOfA.push(await publishFor('usr_A', 'user.enabled'));
    }
    laterOfA.push(await publishFor('usr_A', 'user.deleted'));

    await eventually(() => receiver.requests.length === 3 + others.length + laterOfA.length, {
      timeout: 30_000,
      description: 'every event received, A1 three times',
    });
    const requests = receiver.requests;
    const ofA = requests.filter((request) => request.headers['x-intelliauth-ordering-key'] === 'user:usr_A');
    expect(ofA.map(eventIdOf)).toEqual([a1, a1, a1, ...laterOfA]);
    const a1DeliveredAt = ofA[2].at;
    // B..Z were not held up by A: each arrived while A's first delivery still waited on its retries.
    for (const eventId of others) {
      const request = requests.find((candidate) => eventIdOf(candidate) === eventId)!;
      expect(request.at).toBeLessThan(a1DeliveredAt);
    }
    // The key travels as a header only: the body keeps its fixed envelope.
    expect(JSON.parse(ofA[3].body)).not.toHaveProperty('ordering_key');
  });

  it("orders under the publisher's own ordering_key, stored with the event, sent back as X-IntelliAuth-Ordering-Key, and refuses a bad one", async () => {
    const { receiver, subscription } = await orderedSubscription(new Set());
    const published = [];
    for (const user of ['usr_1', 'usr_2', 'usr_3'])
      published.push(
        (await publish(stack.client, subscription.tenantId, { data: { user: { id: user } }, ordering_key: 'org/7' }))
          .eventId,
      );
    expect((await stack.client.get(`/v1/events/${published[0]}`)).ordering_key).toBe('org/7');
    const refused = await stack.request('POST', '/v1/events', {
      event_type: 'user.updated',
      tenant: { id: subscription.tenantId },
      data: { user: { id: 'usr_1' } },
      ordering_key: 'x'.repeat(257),
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({
      code: 'validation_failed',
      details: expect.arrayContaining([expect.objectContaining({ field: 'ordering_key' })]),
    });
    await eventually(() => receiver.requests.length === 3, { timeout: 20_000, description: 'three deliveries' });
    expect(receiver.requests.map(eventIdOf)).toEqual(published);
    expect(receiver.requests.map((request) => request.headers['x-intelliauth-ordering-key'])).toEqual([
      'org/7',
      'org/7',
      'org/7',
    ]);
  });

  it('shows the blocked key, refuses to retry a delivery behind it, and releases the next one when the head dead-letters', async () => {
    const failing = new Set<string>();
    const { receiver, subscription, publishFor } = await orderedSubscription(failing);
    const head = await publishFor('usr_C');
    failing.add(head);
    const next = await publishFor('usr_C');
    const headDelivery = (await stack.client.get(`/v1/events/${head}`)).deliveries[0].id as string;
    const nextDelivery = (await stack.client.get(`/v1/events/${next}`)).deliveries[0].id as string;

    const blocked = await eventually(
      async () => {
        const answer = await stack.client.get(`/v1/subscriptions/${subscription.id}/blocked-keys`);
        return answer.data.length > 0 ? answer : undefined;
      },
      { timeout: 10_000, description: 'the blocked key' },
    );
    expect(blocked).toEqual({
      subscription_id: subscription.id,
      data: [
        {
          ordering_key: 'user:usr_C',
          head_delivery_id: headDelivery,
          head_status: expect.any(String),
          since: expect.any(String),
          waiting: 1,
        },
      ],
      has_more: false,
    });
    const refused = await stack.request('POST', `/v1/deliveries/${nextDelivery}/retry`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'waiting_for_turn', details: { ordering_key: 'user:usr_C' } });

    // Three attempts on the schedule, then the fourth asked for at once: the head runs out of attempts.
    await deliveryIn(stack.client, headDelivery, 'retry_scheduled', 20_000);
    await eventually(async () => (await stack.client.get(`/v1/deliveries/${headDelivery}`)).attempt_count === 3, {
      timeout: 20_000,
      description: 'three attempts of the head',
    });
    expect(receiver.requests.filter((request) => eventIdOf(request) === next)).toEqual([]);
    await stack.client.post(`/v1/deliveries/${headDelivery}/retry`, undefined, 202);
    await deliveryIn(stack.client, headDelivery, 'dead_lettered');
    await deliveryIn(stack.client, nextDelivery, 'delivered', 10_000);
    expect((await stack.client.get(`/v1/subscriptions/${subscription.id}/blocked-keys`)).data).toEqual([]);
  });

  it("releases the next delivery when an operator cancels the key's head", async () => {
    const failing = new Set<string>();
    const { receiver, publishFor } = await orderedSubscription(failing);
    const head = await publishFor('usr_D');
    failing.add(head);
    const next = await publishFor('usr_D');
    const headDelivery = (await stack.client.get(`/v1/events/${head}`)).deliveries[0].id as string;
    await deliveryIn(stack.client, headDelivery, 'retry_scheduled', 20_000);
    expect(receiver.requests.filter((request) => eventIdOf(request) === next)).toEqual([]);
    await stack.client.post(`/v1/deliveries/${headDelivery}/cancel`, { reason: 'stuck head' }, 202);
    await deliveryIn(stack.client, headDelivery, 'cancelled');
    await eventually(() => receiver.requests.some((request) => eventIdOf(request) === next), {
      timeout: 10_000,
      description: 'the next delivery of the key',
    });
  });

  it('releases the key when an operator cancels a head whose workflow was terminated from the Temporal UI', async () => {
    const failing = new Set<string>();
    const { receiver, publishFor } = await orderedSubscription(failing);
    const head = await publishFor('usr_T');
    failing.add(head);
    const next = await publishFor('usr_T');
    const headDelivery = (await stack.client.get(`/v1/events/${head}`)).deliveries[0].id as string;
    await deliveryIn(stack.client, headDelivery, 'retry_scheduled', 20_000);
    const { rows } = await pool.query<{ workflow_id: string }>(
      'SELECT workflow_id FROM deliveries WHERE id = $1::text',
      [headDelivery],
    );
    const workflowId = rows[0].workflow_id;
    await stack.temporal.workflow.getHandle(workflowId).terminate('an operator in the Temporal UI');
    expect((await stack.client.get(`/v1/deliveries/${headDelivery}`)).status).toBe('retry_scheduled');
    await stack.client.post(`/v1/deliveries/${headDelivery}/cancel`, { reason: 'terminated head' }, 202);
    const cancelled = await stack.client.get(`/v1/deliveries/${headDelivery}`);
    expect([cancelled.status, cancelled.failure_reason]).toEqual(['cancelled', 'cancelled: terminated head']);
    await eventually(() => receiver.requests.some((request) => eventIdOf(request) === next), {
      timeout: 10_000,
      description: 'the next delivery of the key',
    });
    await stack.client.post(`/v1/deliveries/${headDelivery}/cancel`, {}, 409);
  });
});
