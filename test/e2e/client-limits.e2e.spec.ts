import { connect } from 'node:net';
import { loadConfig } from '../../libs/config/config';
import { newSubscriptionId } from '../../libs/contracts/ids';
import { uniqueTenant } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { Scrape } from '../helpers/metrics';
import { TestReceiver } from '../helpers/receiver';
import { Stack, startStack } from '../helpers/stack';

const defaults = loadConfig({});
/** Short enough to watch in a test; the attempt timeout below stays under it, as the configuration requires. */
const CONNECTION_TIMEOUT_MS = 2_000;

let stack: Stack;

beforeAll(async () => {
  stack = await startStack(
    { retryScheduleMs: [0], attemptTimeoutMs: 1_000, ttlMs: 86_400_000 },
    {
      worker: false,
      config: {
        clientLimits: {
          ...defaults.clientLimits,
          requestTimeoutMs: CONNECTION_TIMEOUT_MS,
          connectionTimeoutMs: CONNECTION_TIMEOUT_MS,
          // Only the refresh at start: a scrape must not read Postgres.
          gaugesRefreshMs: 3_600_000,
        },
        quotas: {
          ...defaults.quotas,
          subscriptions: 3,
          apiKeys: 2,
          portalSessions: 2,
          testSendsPerMinute: 10,
          rotationsPerMinute: 2,
        },
      },
    },
  );
});
afterAll(() => stack?.stop());

const subscribe = (tenantId: string, url = 'https://receiver.example.com/hook') =>
  stack.request('POST', '/v1/subscriptions', { tenant_id: tenantId, url, event_types: ['user.*'] });

describe('per-tenant quotas', () => {
  it('answers 422 quota_exceeded past TENANT_MAX_SUBSCRIPTIONS, also to creations at once, and a deleted subscription frees its place', async () => {
    const tenantId = uniqueTenant();
    const answers = await Promise.all(Array.from({ length: 6 }, () => subscribe(tenantId)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 201, 201, 422, 422, 422]);
    const refused = answers.find((answer) => answer.status === 422)!;
    expect(refused.body.error).toEqual({
      code: 'quota_exceeded',
      message: expect.stringMatching(
        /tenant \S+ already has 3 subscriptions, its limit \(TENANT_MAX_SUBSCRIPTIONS=3\)/,
      ),
      details: { quota: 'subscriptions', limit: 3 },
    });
    expect((await stack.request('GET', `/v1/subscriptions?tenant_id=${tenantId}`)).body.data).toHaveLength(3);

    // Another tenant has a quota of its own.
    expect((await subscribe(uniqueTenant())).status).toBe(201);

    const created = answers.find((answer) => answer.status === 201)!.body;
    expect((await stack.request('DELETE', `/v1/subscriptions/${created.id}`)).status).toBe(204);
    expect((await subscribe(tenantId)).status).toBe(201);
    expect((await subscribe(tenantId)).status).toBe(422);
  });

  it('answers 422 quota_exceeded past TENANT_MAX_API_KEYS and TENANT_MAX_PORTAL_SESSIONS; revoking frees a place', async () => {
    const tenantId = uniqueTenant();
    const keys = `/v1/tenants/${tenantId}/api-keys`;
    const first = await stack.client.post(keys, {}, 201);
    await stack.client.post(keys, {}, 201);
    const refused = await stack.request('POST', keys, {});
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('quota_exceeded');
    expect(refused.body.error.message).toMatch(/TENANT_MAX_API_KEYS=2/);
    expect((await stack.request('DELETE', `${keys}/${first.id}`)).status).toBe(204);
    expect((await stack.request('POST', keys, {})).status).toBe(201);

    const sessions = `/v1/tenants/${tenantId}/portal-sessions`;
    const session = await stack.client.post(sessions, undefined, 201);
    await stack.client.post(sessions, undefined, 201);
    const refusedSession = await stack.request('POST', sessions);
    expect(refusedSession.status).toBe(422);
    expect(refusedSession.body.error).toMatchObject({
      code: 'quota_exceeded',
      details: { quota: 'portal_sessions', limit: 2 },
    });
    expect((await stack.request('DELETE', `${sessions}/${session.id}`)).status).toBe(204);
    expect((await stack.request('POST', sessions)).status).toBe(201);
  });
});

describe('per-minute rates', () => {
  it('answers 429 rate_limited with Retry-After to test sends past TEST_SEND_RATE_LIMIT per tenant per minute', async () => {
    const receiver = TestReceiver.answering(200);
    const tenantId = uniqueTenant();
    const subscription = (await subscribe(tenantId, await stack.startReceiver(receiver))).body;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        stack.request('POST', `/v1/subscriptions/${subscription.id}/test`, { event_type: 'user.signed_up' }),
      ),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(10);
    for (const answer of answers.filter((a) => a.status === 429)) {
      expect(answer.body.error.code).toBe('rate_limited');
      expect(answer.body.error.message).toMatch(/10 test sends per minute \(TEST_SEND_RATE_LIMIT\)/);
      const retryAfter = Number(answer.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
    // The refused ones sent nothing.
    expect(receiver.requests).toHaveLength(10);
  });

  it('answers 429 to secret rotations past SECRET_ROTATION_RATE_LIMIT per subscription, and 404 (not 429) to an unknown id', async () => {
    const tenantId = uniqueTenant();
    const [one, other] = [(await subscribe(tenantId)).body, (await subscribe(tenantId)).body];
    const rotate = (id: string) => stack.request('POST', `/v1/subscriptions/${id}/rotate-secret`, {});
    expect((await rotate(one.id)).status).toBe(200);
    expect((await rotate(one.id)).status).toBe(200);
    const refused = await rotate(one.id);
    expect(refused.status).toBe(429);
    expect(refused.body.error.message).toMatch(/2 secret rotations per minute \(SECRET_ROTATION_RATE_LIMIT\)/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await rotate(other.id)).status).toBe(200);
    const unknown = newSubscriptionId();
    for (let i = 0; i < 3; i++) expect((await rotate(unknown)).status).toBe(404);
  });
});

/** Resolves with how long the server took to close a socket that sent `bytes` and then nothing more. */
function stall(bytes: string): Promise<number> {
  const url = new URL(stack.baseUrl);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(Number(url.port), url.hostname, () => socket.write(bytes));
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Date.now() - started));
    setTimeout(() => {
      socket.destroy();
      reject(new Error('the server kept a stalled connection open for 30 s'));
    }, 30_000).unref();
  });
}

describe('connection limits', () => {
  it('closes a connection that sent its headers and stalls, and one that sent half its body, once the timeout passes', async () => {
    const [headersOnly, halfBody] = await Promise.all([
      stall('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'),
      stall(
        'POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"event',
      ),
    ]);
    // Closed by the server (stall's own 30 s bound rejects otherwise), and not before the configured timeout.
    expect(headersOnly).toBeGreaterThanOrEqual(CONNECTION_TIMEOUT_MS - 100);
    expect(halfBody).toBeGreaterThanOrEqual(CONNECTION_TIMEOUT_MS - 100);
  });
});

describe('/metrics', () => {
  it('answers the database gauges from memory: scrapes do not read them again', async () => {
    const refreshes = async () => (await Scrape.of(stack.baseUrl)).value('webhook_gauges_refreshes_total');
    await eventually(refreshes, { timeout: 10_000, description: 'the refresh at start' });
    const scrapes = await Promise.all(Array.from({ length: 5 }, refreshes));
    expect(scrapes).toEqual([1, 1, 1, 1, 1]);
    const scrape = await Scrape.of(stack.baseUrl);
    expect(scrape.value('webhook_gauges_refreshes_total', { outcome: 'ok' })).toBe(1);
    expect(scrape.family('webhook_outbox_backlog')).toMatchObject({ type: 'gauge' });
  });
});
