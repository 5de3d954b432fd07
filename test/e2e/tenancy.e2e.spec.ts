import { deadLetter, publish, subscribeReceiver, tenantKey } from '../helpers/fixtures';
import { TestReceiver } from '../helpers/receiver';
import { Stack, startStack, WAITING_POLICY } from '../helpers/stack';

/** Deliveries fail once and then wait an hour, so each tenant has a waiting delivery and a dead letter to reach for. */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack(WAITING_POLICY);
});
afterAll(() => stack?.stop());

interface TenantFixture {
  tenantId: string;
  key: string;
  keyId: string;
  subscriptionId: string;
  eventId: string;
  waitingDeliveryId: string;
  deadLetterId: string;
}

/** A tenant with its own key, a subscription, a waiting delivery and a dead letter, made through the API. */
async function tenantWithData(): Promise<TenantFixture> {
  const { tenantId, id: subscriptionId } = await subscribeReceiver(stack, TestReceiver.answering(500));
  const key = await tenantKey(stack.client, tenantId, 'admin console');
  const waiting = await publish(stack.client, tenantId, { data: { user: { id: 'usr_w' } } });
  const deadLetterId = await deadLetter(stack.client, tenantId, {
    event_type: 'user.deleted',
    data: { user: { id: 'usr_d' } },
  });
  return {
    tenantId,
    key: key.key,
    keyId: key.id,
    subscriptionId,
    eventId: waiting.eventId,
    waitingDeliveryId: waiting.deliveries[0].id,
    deadLetterId,
  };
}

let a: TenantFixture;
let b: TenantFixture;

beforeAll(async () => {
  [a, b] = await Promise.all([tenantWithData(), tenantWithData()]);
});

describe('tenant API keys', () => {
  it('are shown once with a visible prefix, listed without the key, and stop working when revoked', async () => {
    const created = await stack.request('POST', `/v1/tenants/${a.tenantId}/api-keys`, {});
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^key_/),
      tenant_id: a.tenantId,
      key: expect.stringMatching(/^iaw_tk_/),
    });
    expect(created.body.key.startsWith(created.body.prefix)).toBe(true);
    const listed = await stack.request('GET', `/v1/tenants/${a.tenantId}/api-keys`);
    expect(listed.body.data.map((k: { id: string }) => k.id)).toEqual(
      expect.arrayContaining([created.body.id, a.keyId]),
    );
    expect(JSON.stringify(listed.body)).not.toContain(created.body.key);

    const asNewKey = { apiKey: created.body.key };
    expect((await stack.request('GET', `/v1/subscriptions/${a.subscriptionId}`, undefined, asNewKey)).status).toBe(200);
    expect((await stack.request('DELETE', `/v1/tenants/${a.tenantId}/api-keys/${created.body.id}`)).status).toBe(204);
    expect((await stack.request('GET', `/v1/subscriptions/${a.subscriptionId}`, undefined, asNewKey)).status).toBe(401);
    expect((await stack.request('DELETE', `/v1/tenants/${a.tenantId}/api-keys/${created.body.id}`)).status).toBe(404);
  });

  it('may not publish: publishing is for the platform’s services', async () => {
    const answer = await stack.request(
      'POST',
      '/v1/events',
      { event_type: 'user.updated', tenant: { id: a.tenantId }, data: { user: { id: 'u' } } },
      { apiKey: a.key },
    );
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe('service_key_required');
  });

  it('see and change their own tenant’s resources', async () => {
    const as = { apiKey: a.key };
    expect(
      (await stack.request('GET', `/v1/subscriptions`, undefined, as)).body.data.map((s: { id: string }) => s.id),
    ).toEqual([a.subscriptionId]);
    expect((await stack.request('GET', `/v1/events/${a.eventId}`, undefined, as)).status).toBe(200);
    expect((await stack.request('GET', `/v1/deliveries/${a.waitingDeliveryId}`, undefined, as)).status).toBe(200);
    expect(
      (await stack.request('GET', `/v1/dead-letters`, undefined, as)).body.data.map((d: { id: string }) => d.id),
    ).toEqual([a.deadLetterId]);
    const created = await stack.request(
      'POST',
      '/v1/subscriptions',
      { url: 'https://hooks.example.com/a', event_types: ['user.*'] },
      as,
    );
    expect(created.status).toBe(201);
    expect(created.body.tenant_id).toBe(a.tenantId);
    expect((await stack.request('DELETE', `/v1/subscriptions/${created.body.id}`, undefined, as)).status).toBe(204);
  });
});

describe('isolation: another tenant’s id answers exactly like a missing id, and lists hold only the caller’s rows', () => {
  const missing = {
    subscription: 'whsub_01AAAAAAAAAAAAAAAAAAAAAAAA',
    event: 'evt_missing',
    delivery: 'whdlv_01AAAAAAAAAAAAAAAAAAAAAAAA',
  };

  async function asA(method: string, path: string, body?: unknown) {
    const answer = await stack.request(method, path, body, { apiKey: a.key });
    return { status: answer.status, code: answer.body?.error?.code };
  }

  /** Every route that takes an id, called by tenant A with tenant B's id and with an id that does not exist. */
  const routes = (ids: {
    subscription: string;
    event: string;
    delivery: string;
    deadLetter: string;
  }): Array<[string, string, unknown?]> => [
    ['GET', `/v1/subscriptions/${ids.subscription}`],
    ['PATCH', `/v1/subscriptions/${ids.subscription}`, { description: 'x' }],
    ['DELETE', `/v1/subscriptions/${ids.subscription}`],
    ['POST', `/v1/subscriptions/${ids.subscription}/disable`, {}],
    ['POST', `/v1/subscriptions/${ids.subscription}/enable`],
    ['POST', `/v1/subscriptions/${ids.subscription}/rotate-secret`, {}],
    ['POST', `/v1/subscriptions/${ids.subscription}/test`, { event_type: 'user.updated' }],
    ['GET', `/v1/events/${ids.event}`],
    ['GET', `/v1/deliveries/${ids.delivery}`],
    ['POST', `/v1/deliveries/${ids.delivery}/cancel`, {}],
    ['POST', `/v1/deliveries/${ids.delivery}/retry`],
    ['POST', `/v1/dead-letters/${ids.deadLetter}/redrive`],
  ];

  it('on every route that takes an id', async () => {
    const others = routes({
      subscription: b.subscriptionId,
      event: b.eventId,
      delivery: b.waitingDeliveryId,
      deadLetter: b.deadLetterId,
    });
    const absent = routes({ ...missing, deadLetter: missing.delivery });
    for (let i = 0; i < others.length; i++) {
      const [method, path, body] = others[i];
      const [, absentPath, absentBody] = absent[i];
      const other = await asA(method, path, body);
      expect({ route: `${method} ${path}`, ...other }).toEqual({
        route: `${method} ${path}`,
        ...(await asA(method, absentPath, absentBody)),
      });
      expect(other.status).toBe(404);
    }
    // B's resources are untouched.
    expect((await stack.request('GET', `/v1/subscriptions/${b.subscriptionId}`)).body).toMatchObject({
      enabled: true,
      description: null,
    });
    expect((await stack.request('GET', `/v1/deliveries/${b.waitingDeliveryId}`)).body.status).toBe('retry_scheduled');
    expect((await stack.request('GET', `/v1/deliveries/${b.deadLetterId}`)).body.status).toBe('dead_lettered');
  });

  it('on every list, which never contains another tenant’s rows, and refuses to name another tenant', async () => {
    for (const path of ['/v1/subscriptions', '/v1/deliveries', '/v1/dead-letters', '/v1/operator-actions']) {
      const own = await stack.request('GET', path, undefined, { apiKey: a.key });
      expect(own.status).toBe(200);
      expect(own.body.data.length).toBeGreaterThan(0);
      expect(own.body.data.every((row: { tenant_id: string }) => row.tenant_id === a.tenantId)).toBe(true);
      const named = await asA('GET', `${path}?tenant_id=${b.tenantId}`);
      expect(named).toEqual({ status: 403, code: 'permission_denied' });
    }
    const bySubscription = await stack.request('GET', `/v1/deliveries?subscription_id=${b.subscriptionId}`, undefined, {
      apiKey: a.key,
    });
    expect(bySubscription.body.data).toEqual([]);
    const auditOfB = await stack.request('GET', `/v1/operator-actions?target_id=${b.deadLetterId}`, undefined, {
      apiKey: a.key,
    });
    expect(auditOfB.body.data).toEqual([]);
  });

  it('on subscription creation, key management and bulk redrives for another tenant', async () => {
    expect(
      await asA('POST', '/v1/subscriptions', { tenant_id: b.tenantId, url: 'https://x.example', event_types: ['*'] }),
    ).toEqual({ status: 403, code: 'permission_denied' });
    expect(await asA('POST', `/v1/tenants/${b.tenantId}/api-keys`, {})).toEqual({
      status: 403,
      code: 'permission_denied',
    });
    expect(await asA('GET', `/v1/tenants/${b.tenantId}/api-keys`)).toEqual({ status: 403, code: 'permission_denied' });
    expect(await asA('DELETE', `/v1/tenants/${b.tenantId}/api-keys/${b.keyId}`)).toEqual({
      status: 403,
      code: 'permission_denied',
    });
    expect(await asA('POST', '/v1/dead-letters/redrive', { tenant_id: b.tenantId })).toEqual({
      status: 403,
      code: 'permission_denied',
    });
    const bJob = await stack.request('POST', '/v1/dead-letters/redrive', {
      tenant_id: b.tenantId,
      reason: 'no_such_reason',
    });
    expect(await asA('GET', `/v1/dead-letters/redrives/${bJob.body.id}`)).toEqual(
      await asA('GET', '/v1/dead-letters/redrives/redrv_01ARZ3NDEKTSV4RRFFQ69G5FAV'),
    );
  });
});
