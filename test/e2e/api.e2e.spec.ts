import { EVENT_TYPES } from '../../libs/contracts/catalogue';
import { uniqueTenant } from '../helpers/database';
import { Stack, startStack } from '../helpers/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ retryScheduleMs: [0], attemptTimeoutMs: 1_000, ttlMs: 86_400_000 }, { worker: false });
});
afterAll(() => stack?.stop());

const validEvent = (tenantId: string, extra: Record<string, unknown> = {}) => ({
  event_type: 'user.updated',
  tenant: { id: tenantId },
  data: { user: { id: 'usr_1' } },
  ...extra,
});

async function expectError(answer: Promise<{ status: number; body: any }>, status: number, code: string) {
  const { status: actual, body } = await answer;
  expect({ status: actual, code: body?.error?.code }).toEqual({ status, code });
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(10);
  return body.error;
}

describe('authentication', () => {
  it('answers 401 without a key or with a wrong one, on every kind of route', async () => {
    for (const [method, path] of [
      ['GET', '/v1/subscriptions?tenant_id=t'],
      ['POST', '/v1/events'],
      ['GET', '/v1/deliveries/x'],
      ['POST', '/v1/dead-letters/x/redrive'],
    ]) {
      await expectError(
        stack.request(method, path, method === 'POST' ? {} : undefined, { apiKey: null }),
        401,
        'unauthorized',
      );
      await expectError(
        stack.request(method, path, method === 'POST' ? {} : undefined, { apiKey: 'not-the-key-at-all-0000' }),
        401,
        'unauthorized',
      );
    }
  });

  it('keeps the health check public', async () => {
    expect((await stack.request('GET', '/healthz', undefined, { apiKey: null })).body).toEqual({ status: 'ok' });
  });
});

describe('subscriptions', () => {
  it('creates (secret shown once), gets, lists, updates and deletes', async () => {
    const tenantId = uniqueTenant();
    const created = await stack.request('POST', '/v1/subscriptions', {
      tenant_id: tenantId,
      url: 'https://hooks.example.com/intelliauth',
      event_types: ['user.*', 'security.brute_force_detected'],
      description: 'CRM sync',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^whsub_/),
      tenant_id: tenantId,
      enabled: true,
      secret: expect.stringMatching(/^whsec_/),
    });
    const id = created.body.id;

    const fetched = await stack.request('GET', `/v1/subscriptions/${id}`);
    expect(fetched.body).toMatchObject({
      id,
      url: 'https://hooks.example.com/intelliauth',
      event_types: ['user.*', 'security.brute_force_detected'],
      description: 'CRM sync',
    });
    expect(JSON.stringify(fetched.body)).not.toContain('whsec_');
    const listed = await stack.request('GET', `/v1/subscriptions?tenant_id=${tenantId}`);
    expect(listed.body.data.map((s: { id: string }) => s.id)).toEqual([id]);
    expect(JSON.stringify(listed.body)).not.toContain('whsec_');

    const updated = await stack.request('PATCH', `/v1/subscriptions/${id}`, {
      url: 'https://hooks.example.com/v2',
      event_types: ['*'],
      enabled: false,
      description: null,
    });
    expect(updated.body).toMatchObject({
      url: 'https://hooks.example.com/v2',
      event_types: ['*'],
      enabled: false,
      disabled_reason: 'disabled_by_operator',
      description: null,
    });
    expect((await stack.request('PATCH', `/v1/subscriptions/${id}`, { enabled: true })).body).toMatchObject({
      enabled: true,
      disabled_reason: null,
    });

    expect((await stack.request('DELETE', `/v1/subscriptions/${id}`)).status).toBe(204);
    await expectError(stack.request('GET', `/v1/subscriptions/${id}`), 404, 'subscription_not_found');
    await expectError(stack.request('DELETE', `/v1/subscriptions/${id}`), 404, 'subscription_not_found');
    expect((await stack.request('GET', `/v1/subscriptions?tenant_id=${tenantId}`)).body.data).toEqual([]);
  });

  it('refuses bad subscriptions with what to fix', async () => {
    const tenant_id = uniqueTenant();
    const unknown = await expectError(
      stack.request('POST', '/v1/subscriptions', {
        tenant_id,
        url: 'https://x.example',
        event_types: ['user.teleported', 'billing.*'],
      }),
      422,
      'unknown_event_type',
    );
    expect(unknown.details.unknown).toEqual(['user.teleported', 'billing.*']);
    expect(unknown.details.valid_event_types).toEqual(EVENT_TYPES);
    await expectError(
      stack.request('POST', '/v1/subscriptions', { tenant_id, url: 'ftp://x.example/hook', event_types: ['*'] }),
      422,
      'invalid_url',
    );
    await expectError(
      stack.request('POST', '/v1/subscriptions', {
        tenant_id,
        url: 'https://user:pw@x.example/hook',
        event_types: ['*'],
      }),
      422,
      'invalid_url',
    );
    await expectError(
      stack.request('POST', '/v1/subscriptions', { tenant_id, url: 'not a url', event_types: ['*'] }),
      422,
      'invalid_url',
    );
    await expectError(
      stack.request('POST', '/v1/subscriptions', {
        tenant_id,
        url: `https://x.example/${'a'.repeat(2048)}`,
        event_types: ['*'],
      }),
      400,
      'validation_failed',
    );
    const missing = await expectError(
      stack.request('POST', '/v1/subscriptions', { url: 'https://x.example' }),
      400,
      'validation_failed',
    );
    expect(missing.details).toEqual([{ field: 'event_types', problem: 'is required' }]);
    const noTenant = await expectError(
      stack.request('POST', '/v1/subscriptions', { url: 'https://x.example', event_types: ['*'] }),
      400,
      'validation_failed',
    );
    expect(noTenant.details).toEqual([{ field: 'tenant_id', problem: 'is required' }]);
    await expectError(
      stack.request('POST', '/v1/subscriptions', { tenant_id, url: 'https://x.example', event_types: [] }),
      400,
      'validation_failed',
    );
    await expectError(
      stack.request('PATCH', '/v1/subscriptions/whsub_01ARZ3NDEKTSV4RRFFQ69G5FAV', {}),
      400,
      'validation_failed',
    );
    await expectError(
      stack.request('PATCH', '/v1/subscriptions/whsub_01ARZ3NDEKTSV4RRFFQ69G5FAV', { enabled: false }),
      404,
      'subscription_not_found',
    );
    // A service key lists every tenant's subscriptions when it names none (it was a 400 the document did not state).
    const everyTenant = await stack.request('GET', '/v1/subscriptions?limit=200');
    expect(everyTenant.status).toBe(200);
    expect(Array.isArray(everyTenant.body.data)).toBe(true);
    await expectError(stack.request('GET', `/v1/subscriptions?tenant_id=${tenant_id}&limit=0`), 400, 'invalid_query');
    await expectError(
      stack.request('GET', `/v1/subscriptions?tenant_id=${tenant_id}&cursor=bogus`),
      400,
      'invalid_query',
    );
    expect((await stack.request('GET', `/v1/subscriptions?tenant_id=${tenant_id}`)).body.data).toEqual([]);
  });
});

describe('publish: bad input gets a clear error and leaves nothing behind', () => {
  async function expectNothingStored(eventId: string) {
    await expectError(stack.request('GET', `/v1/events/${eventId}`), 404, 'event_not_found');
  }

  it('400 for malformed JSON, a missing field, an unknown field, a delivery block or a bad event_id', async () => {
    await expectError(
      stack.request('POST', '/v1/events', undefined, { rawBody: '{"event_type": "user.updated",' }),
      400,
      'invalid_json',
    );
    await expectError(stack.request('POST', '/v1/events', undefined, { rawBody: '[1,2]' }), 400, 'validation_failed');
    const missing = await expectError(
      stack.request('POST', '/v1/events', {
        event_id: 'evt_missing_data',
        event_type: 'user.updated',
        tenant: { id: 't' },
      }),
      400,
      'validation_failed',
    );
    expect(missing.details).toEqual([{ field: 'data', problem: 'is required' }]);
    await expectNothingStored('evt_missing_data');
    const extra = await expectError(
      stack.request('POST', '/v1/events', validEvent('t', { colour: 'red' })),
      400,
      'validation_failed',
    );
    expect(extra.details).toEqual([{ field: 'colour', problem: 'is not a known field' }]);
    const delivery = await expectError(
      stack.request('POST', '/v1/events', validEvent('t', { delivery: { attempt: 1 } })),
      400,
      'validation_failed',
    );
    expect(delivery.message).toMatch(/delivery is set by the service/);
    await expectError(
      stack.request('POST', '/v1/events', validEvent('t', { event_id: 'msg_123' })),
      400,
      'validation_failed',
    );
    await expectError(
      stack.request('POST', '/v1/events', validEvent('t', { occurred_at: 'yesterday' })),
      400,
      'validation_failed',
    );
    await expectError(
      stack.request('POST', '/v1/events', undefined, { rawBody: 'event_type=user.updated', contentType: 'text/plain' }),
      415,
      'unsupported_media_type',
    );
  });

  it('422 for an unknown event type, naming the valid ones', async () => {
    const error = await expectError(
      stack.request(
        'POST',
        '/v1/events',
        validEvent('t', { event_id: 'evt_unknown_type', event_type: 'user.teleported' }),
      ),
      422,
      'unknown_event_type',
    );
    expect(error.details.valid_event_types).toEqual(EVENT_TYPES);
    await expectNothingStored('evt_unknown_type');
  });

  it('422 for occurred_at older than the TTL or more than 5 minutes ahead', async () => {
    const old = new Date(Date.now() - 25 * 3_600_000).toISOString();
    const ahead = new Date(Date.now() + 10 * 60_000).toISOString();
    await expectError(
      stack.request('POST', '/v1/events', validEvent('t', { event_id: 'evt_too_old', occurred_at: old })),
      422,
      'occurred_at_out_of_range',
    );
    await expectError(
      stack.request('POST', '/v1/events', validEvent('t', { event_id: 'evt_too_new', occurred_at: ahead })),
      422,
      'occurred_at_out_of_range',
    );
    await expectNothingStored('evt_too_old');
    await expectNothingStored('evt_too_new');
    expect(
      (
        await stack.request(
          'POST',
          '/v1/events',
          validEvent(uniqueTenant(), { occurred_at: new Date(Date.now() + 60_000).toISOString() }),
        )
      ).status,
    ).toBe(202);
  });

  it('413 for a body over 256 KiB', async () => {
    const body = validEvent('t', { event_id: 'evt_too_large', data: { blob: 'x'.repeat(256 * 1024) } });
    await expectError(stack.request('POST', '/v1/events', body), 413, 'payload_too_large');
    await expectNothingStored('evt_too_large');
  });

  it('202 with no deliveries when nothing subscribes, and 404 for unknown ids', async () => {
    const answer = await stack.request('POST', '/v1/events', validEvent(uniqueTenant()));
    expect(answer.status).toBe(202);
    expect(answer.body.deliveries).toEqual([]);
    await expectError(stack.request('GET', '/v1/events/evt_nope'), 404, 'event_not_found');
    await expectError(
      stack.request('GET', '/v1/deliveries/whdlv_01ARZ3NDEKTSV4RRFFQ69G5FAV'),
      404,
      'delivery_not_found',
    );
    await expectError(stack.request('GET', '/v1/nothing-here'), 404, 'route_not_found');
  });

  it('rejects bad query parameters on the delivery lists', async () => {
    await expectError(stack.request('GET', '/v1/deliveries?status=lost'), 400, 'invalid_query');
    await expectError(stack.request('GET', '/v1/deliveries?subscription_id=abc'), 400, 'invalid_query');
    await expectError(stack.request('GET', '/v1/dead-letters?limit=500'), 400, 'invalid_query');
  });
});

describe('what the OpenAPI document states, the server does', () => {
  it('answers 405 with Allow and the error shape for a method a known path does not take', async () => {
    for (const [method, path, allow] of [
      ['PUT', '/v1/events', 'POST'],
      ['DELETE', '/v1/deliveries/whdlv_x', 'GET'],
      ['OPTIONS', '/v1/subscriptions/whsub_x/test', 'POST'],
      // A parameter over the path router's default length, as the main router takes it.
      ['QUERY', `/v1/tenants/${'0'.repeat(128)}/portal-sessions`, 'POST'],
    ]) {
      const answer = await stack.request(method, path);
      expect([method, path, answer.status, answer.body.error.code]).toEqual([method, path, 405, 'method_not_allowed']);
      expect(answer.headers.get('allow')?.split(', ')).toContain(allow);
    }
    await expectError(stack.request('PUT', '/v1/nothing-here'), 404, 'route_not_found');
  });

  it('refuses a JSON null where a body may be left out (was taken as no body)', async () => {
    const tenantId = uniqueTenant();
    const subscription = await stack.request('POST', '/v1/subscriptions', {
      tenant_id: tenantId,
      url: 'https://hooks.example.com/x',
      event_types: ['*'],
    });
    for (const path of [
      `/v1/subscriptions/${subscription.body.id}/disable`,
      `/v1/subscriptions/${subscription.body.id}/rotate-secret`,
      `/v1/tenants/${tenantId}/api-keys`,
      '/v1/dead-letters/redrive',
      '/v1/deliveries/whdlv_01ARZ3NDEKTSV4RRFFQ69G5FAV/cancel',
    ]) {
      await expectError(stack.request('POST', path, undefined, { rawBody: 'null' }), 400, 'validation_failed');
    }
    expect((await stack.request('POST', `/v1/subscriptions/${subscription.body.id}/disable`)).status).toBe(200);
    expect((await stack.request('POST', `/v1/tenants/${tenantId}/api-keys`)).status).toBe(201);
  });

  it('takes a path id as long as the ids it issues (an event_id of 128 characters was a 414)', async () => {
    const eventId = `evt_${'a'.repeat(124)}`;
    expect((await stack.request('POST', '/v1/events', validEvent(uniqueTenant(), { event_id: eventId }))).status).toBe(
      202,
    );
    expect((await stack.request('GET', `/v1/events/${eventId}`)).body.event_id).toBe(eventId);
  });
});

describe('documentation', () => {
  it('serves the OpenAPI document and its browsable page', async () => {
    const document = (await fetch(`${stack.baseUrl}/docs-json`).then((r) => r.json())) as any;
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/v1/events',
        '/v1/events/{eventId}',
        '/v1/subscriptions',
        '/v1/deliveries/{id}/cancel',
        '/v1/dead-letters/{id}/redrive',
      ]),
    );
    const publishBody = document.paths['/v1/events'].post.requestBody;
    expect(publishBody.required).toBe(true);
    expect(publishBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/PublishEventRequest',
    });
    expect(document.components.schemas.PublishEventRequest.required).toEqual(['event_type', 'tenant', 'data']);
    const page = await fetch(`${stack.baseUrl}/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger');
  });
});
