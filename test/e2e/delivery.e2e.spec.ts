import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { deliveryWorkflowId, newEventId } from '../../libs/contracts/ids';
import { EventsRepository } from '../../libs/db/events.repository';
import { searchAttributes } from '../../libs/contracts/delivery-workflow';
import { testPool, uniqueTenant } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { deliveryIn, subscribeReceiver } from '../helpers/fixtures';
import { TestReceiver } from '../helpers/receiver';
import { Stack, startStack } from '../helpers/stack';

/** A short schedule (the default delivery policy's shape, seconds instead of minutes) so retries happen within the test. */
const SHORT_POLICY = { retryScheduleMs: [0, 1_000, 1_000], attemptTimeoutMs: 2_000, ttlMs: 86_400_000 };

let stack: Stack;

beforeAll(async () => {
  stack = await startStack(SHORT_POLICY);
});
afterAll(() => stack?.stop());

const subscribe = (receiver: TestReceiver, tenantId: string, eventTypes = ['user.*']) =>
  subscribeReceiver(stack, receiver, { tenantId, eventTypes, description: 'e2e' });

const event = (tenantId: string, extra: Record<string, unknown> = {}) => ({
  event_type: 'user.signed_up',
  tenant: { id: tenantId, slug: 'banking-cymmetri' },
  actor: { kind: 'user', id: 'usr_01', email: 'anita@example.com' },
  data: { user: { id: 'usr_01', email: 'anita@example.com', name: 'Anita Singh' } },
  ...extra,
});

describe('publish to delivery, end to end (api + Postgres + Temporal dev server + worker + receiver)', () => {
  it('delivers the exact body and headers, and the query API and search attributes show it delivered', async () => {
    const tenantId = uniqueTenant();
    const receiver = new TestReceiver();
    const subscription = await subscribe(receiver, tenantId);
    const occurredAt = new Date(Date.now() - 60_000).toISOString();

    const published = await stack.request('POST', '/v1/events', event(tenantId, { occurred_at: occurredAt }));
    expect(published.status).toBe(202);
    expect(published.body).toEqual({
      event_id: expect.stringMatching(/^evt_[0-9A-Z]{26}$/),
      deliveries: [{ id: expect.any(String), subscription_id: subscription.id }],
    });
    const eventId = published.body.event_id;
    const deliveryId = published.body.deliveries[0].id;

    await eventually(() => receiver.requests.length === 1, { timeout: 20_000, description: 'the delivery' });
    const [request] = receiver.requests;
    expect(request.body).toBe(
      JSON.stringify({
        event_id: eventId,
        event_type: 'user.signed_up',
        occurred_at: occurredAt,
        tenant: { id: tenantId, slug: 'banking-cymmetri' },
        actor: { kind: 'user', id: 'usr_01', email: 'anita@example.com' },
        data: { user: { id: 'usr_01', email: 'anita@example.com', name: 'Anita Singh' } },
        delivery: { attempt: 1, subscription_id: subscription.id },
      }),
    );
    expect(request.headers).toMatchObject({
      'content-type': 'application/json',
      'x-intelliauth-event-id': eventId,
      'x-intelliauth-event-type': 'user.signed_up',
      'x-intelliauth-delivery-attempt': '1',
      'webhook-id': eventId,
    });
    const key = Buffer.from(subscription.secret.slice('whsec_'.length), 'base64');
    expect(request.headers['x-intelliauth-signature']).toBe(
      createHmac('sha256', key).update(request.body).digest('hex'),
    );
    expect(() =>
      new Webhook(subscription.secret).verify(request.body, request.headers as Record<string, string>),
    ).not.toThrow();

    const delivered = await deliveryIn(stack.client, deliveryId, 'delivered', 30_000);
    expect(delivered).toMatchObject({
      id: deliveryId,
      event_id: eventId,
      subscription_id: subscription.id,
      attempt_count: 1,
      last_status_code: 200,
    });
    expect(delivered.attempts).toEqual([
      expect.objectContaining({ attempt: 1, status_code: 200, succeeded: true, duration_ms: expect.any(Number) }),
    ]);

    const byEvent = await stack.request('GET', `/v1/events/${eventId}`);
    expect(byEvent.body).toMatchObject({
      event_id: eventId,
      tenant: { id: tenantId },
      deliveries: [{ id: deliveryId, subscription_id: subscription.id, status: 'delivered' }],
    });

    const handle = stack.temporal.workflow.getHandle(deliveryWorkflowId(eventId, subscription.id));
    const attributes = await eventually(
      async () => {
        const description = await handle.describe();
        return description.typedSearchAttributes.get(searchAttributes.deliveryStatus) === 'delivered'
          ? description.typedSearchAttributes
          : undefined;
      },
      { timeout: 30_000, description: 'the search attributes to show it delivered' },
    );
    expect(attributes.get(searchAttributes.tenantId)).toBe(tenantId);
    expect(attributes.get(searchAttributes.eventType)).toBe('user.signed_up');
    expect(attributes.get(searchAttributes.subscriptionId)).toBe(subscription.id);
  });

  it('publishing the same event twice creates one delivery and answers the same; different content is a 409', async () => {
    const tenantId = uniqueTenant();
    const receiver = new TestReceiver();
    await subscribe(receiver, tenantId);
    const body = event(tenantId, { event_id: `evt_dup_${tenantId}` });

    const first = await stack.request('POST', '/v1/events', body);
    const second = await stack.request('POST', '/v1/events', body);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');

    await eventually(() => receiver.requests.length === 1, { timeout: 20_000, description: 'the delivery' });
    await sleep(1_500);
    expect(receiver.requests).toHaveLength(1);

    const changed = await stack.request('POST', '/v1/events', { ...body, data: { user: { id: 'usr_other' } } });
    expect(changed.status).toBe(409);
    expect(changed.body.error.code).toBe('event_conflict');
  });

  it('shows three attempts through the query API when the receiver fails twice, then answers 200', async () => {
    const tenantId = uniqueTenant();
    const receiver = TestReceiver.answering(500, 503, 200);
    await subscribe(receiver, tenantId);
    const published = await stack.request('POST', '/v1/events', event(tenantId));
    const deliveryId = published.body.deliveries[0].id;

    const delivered = await deliveryIn(stack.client, deliveryId, 'delivered', 30_000);
    expect(delivered.attempt_count).toBe(3);
    expect(
      delivered.attempts.map((a: { attempt: number; status_code: number; succeeded: boolean }) => [
        a.attempt,
        a.status_code,
        a.succeeded,
      ]),
    ).toEqual([
      [1, 500, false],
      [2, 503, false],
      [3, 200, true],
    ]);
    expect(delivered.attempts[1].error).toBe('receiver answered 503');
    expect(receiver.requests.map((r) => r.headers['x-intelliauth-delivery-attempt'])).toEqual(['1', '2', '3']);
    expect(receiver.requests[2].at - receiver.requests[1].at).toBeGreaterThanOrEqual(900);
  });

  it('delivers an event committed by any writer, with no api involved: the outbox relay starts it', async () => {
    const tenantId = uniqueTenant();
    const receiver = new TestReceiver();
    await subscribe(receiver, tenantId);
    const pool = testPool();
    try {
      const stored = await new EventsRepository(pool).publish(
        {
          event_id: newEventId(),
          event_type: 'user.deleted',
          occurred_at: new Date().toISOString(),
          tenant: { id: tenantId },
          data: {},
        },
        'committed-then-crashed',
      );
      if (stored.kind !== 'created') throw new Error('expected a new event');
      await eventually(() => receiver.requests.length === 1, {
        timeout: 30_000,
        description: 'the relay to start the delivery',
      });
      const row = await pool.query(
        'SELECT workflow_started_at, start_claimed_until FROM deliveries WHERE id = $1::text',
        [stored.deliveries[0].id],
      );
      expect(row.rows[0]).toEqual({ workflow_started_at: expect.any(Date), start_claimed_until: null });
    } finally {
      await pool.end();
    }
  });

  it('starts a delivery whose claim was left by a relay that died, once the claim has expired', async () => {
    const tenantId = uniqueTenant();
    const receiver = new TestReceiver();
    await subscribe(receiver, tenantId);
    const pool = testPool();
    try {
      // The claim a dead relay leaves: committed in the same transaction as the rows, so no live relay takes them first.
      const client = await pool.connect();
      const eventId = newEventId();
      try {
        await client.query('BEGIN');
        await client.query(
          `INSERT INTO events (id, tenant_id, event_type, occurred_at, data, content_hash) VALUES ($1::text, $2::text, 'user.deleted', now(), '{}', 'left-claimed')`,
          [eventId, tenantId],
        );
        await client.query(
          `INSERT INTO deliveries (id, event_id, subscription_id, tenant_id, event_type, workflow_id, start_claimed_until)
           SELECT 'whdlv_' || $1::text, $1::text, s.id, $2::text, 'user.deleted', 'delivery:' || $1::text || ':' || s.id, now() + interval '3 seconds'
             FROM subscriptions s WHERE s.tenant_id = $2::text`,
          [eventId, tenantId],
        );
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      const committedAt = Date.now();
      await eventually(() => receiver.requests.length === 1, {
        timeout: 30_000,
        description: 'a relay pass to take the expired claim',
      });
      expect(receiver.requests[0].at - committedAt).toBeGreaterThanOrEqual(2_500);
      const row = await pool.query('SELECT workflow_started_at FROM deliveries WHERE event_id = $1::text', [eventId]);
      expect(row.rows[0].workflow_started_at).toBeInstanceOf(Date);
    } finally {
      await pool.end();
    }
  });

  it('delivers only to subscriptions whose filter matches, and lists deliveries by filter with cursor paging', async () => {
    const tenantId = uniqueTenant();
    const users = new TestReceiver();
    const everything = new TestReceiver();
    const security = new TestReceiver();
    const usersSub = await subscribe(users, tenantId, ['user.signed_up']);
    const everythingSub = await subscribe(everything, tenantId, ['*']);
    await subscribe(security, tenantId, ['security.*']);
    const other = uniqueTenant();
    const otherReceiver = new TestReceiver();
    await subscribe(otherReceiver, other, ['*']);

    for (let i = 0; i < 3; i++)
      expect((await stack.request('POST', '/v1/events', event(tenantId))).body.deliveries).toHaveLength(2);
    await eventually(() => users.requests.length === 3 && everything.requests.length === 3, {
      timeout: 20_000,
      description: 'six deliveries',
    });
    expect(security.requests).toHaveLength(0);
    expect(otherReceiver.requests).toHaveLength(0);

    const firstPage = await stack.request('GET', `/v1/deliveries?tenant_id=${tenantId}&limit=4`);
    expect(firstPage.body.data).toHaveLength(4);
    const secondPage = await stack.request(
      'GET',
      `/v1/deliveries?tenant_id=${tenantId}&limit=4&cursor=${firstPage.body.next_cursor}`,
    );
    expect(secondPage.body.data).toHaveLength(2);
    expect(secondPage.body.next_cursor).toBeNull();
    const ids = [...firstPage.body.data, ...secondPage.body.data].map((d: { id: string }) => d.id);
    expect(new Set(ids).size).toBe(6);

    const bySubscription = await stack.request(
      'GET',
      `/v1/deliveries?subscription_id=${usersSub.id}&event_type=user.signed_up`,
    );
    expect(bySubscription.body.data).toHaveLength(3);
    expect(bySubscription.body.data.every((d: { subscription_id: string }) => d.subscription_id === usersSub.id)).toBe(
      true,
    );
    const delivered = await eventually(
      async () => {
        const page = await stack.request('GET', `/v1/deliveries?subscription_id=${everythingSub.id}&status=delivered`);
        return page.body.data.length === 3 ? page : undefined;
      },
      { timeout: 30_000, description: 'three deliveries recorded delivered' },
    );
    expect(delivered.body.data.every((d: { status: string }) => d.status === 'delivered')).toBe(true);

    // from / to bound when the delivery was created (its event published).
    const createdAt = ids.map((id) =>
      Date.parse([...firstPage.body.data, ...secondPage.body.data].find((d: { id: string }) => d.id === id).created_at),
    );
    const [earliest, latest] = [Math.min(...createdAt), Math.max(...createdAt)];
    const inWindow = async (from: number, to: number) =>
      (
        await stack.request(
          'GET',
          `/v1/deliveries?tenant_id=${tenantId}&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`,
        )
      ).body.data.length;
    expect(await inWindow(earliest, latest + 1)).toBe(6);
    expect(await inWindow(latest + 1, latest + 60_000)).toBe(0);
    expect(await inWindow(earliest - 60_000, earliest)).toBe(0);
    const bad = await stack.request('GET', `/v1/deliveries?from=yesterday`);
    expect(bad).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_query', message: expect.stringContaining('from must be an RFC 3339 time') } },
    });
  });
});
