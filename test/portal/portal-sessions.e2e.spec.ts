import { Pool } from 'pg';
import { testPool, uniqueTenant } from '../helpers/database';
import { publishTo } from '../helpers/fixtures';
import { TestReceiver } from '../helpers/receiver';
import { Stack, startStack, WAITING_POLICY } from '../helpers/stack';

/** Portal sessions over HTTP: the token's life (once, expiry, revocation), the cookie's reach, the static files. */
let stack: Stack;
let pool: Pool;

beforeAll(async () => {
  stack = await startStack(WAITING_POLICY, { worker: false });
  pool = testPool();
});
afterAll(async () => {
  await pool?.end();
  await stack?.stop();
});

const PORTAL = { 'x-intelliauth-portal': '1' };

async function openSession(tenantId: string, apiKey?: string): Promise<{ id: string; token: string }> {
  const created = await stack.request(
    'POST',
    `/v1/tenants/${tenantId}/portal-sessions`,
    undefined,
    apiKey ? { apiKey } : {},
  );
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({
    id: expect.stringMatching(/^psn_/),
    tenant_id: tenantId,
    url: expect.stringMatching(/^\/portal\/#token=iaw_pt_/),
  });
  return { id: created.body.id, token: created.body.url.split('#token=')[1] };
}

async function exchange(token: string, headers: Record<string, string> = PORTAL) {
  const response = await stack.client.request('POST', '/portal/session', { token }, { apiKey: null, headers });
  return { status: response.status, cookie: response.headers.get('set-cookie'), body: response.body };
}

/** A call as the portal makes it: the session cookie and the portal header, no key. */
async function asPortal(
  cookie: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = PORTAL,
) {
  const response = await stack.client.request(method, path, body, {
    apiKey: null,
    headers: { cookie: cookie.split(';')[0], ...headers },
  });
  return { status: response.status, body: response.body };
}

/** A fresh tenant with a subscription and one event published to it (no worker here: it stays pending). */
const tenantWithSubscription = () => publishTo(stack, new TestReceiver(), {}, { eventTypes: ['user.*'] });

describe('a portal session token', () => {
  it('is exchanged once for an httpOnly SameSite=Strict cookie, then refused as used', async () => {
    const tenantId = uniqueTenant();
    const { token } = await openSession(tenantId);
    const first = await exchange(token);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      id: expect.stringMatching(/^psn_/),
      tenant_id: tenantId,
      expires_at: expect.any(String),
    });
    expect(first.cookie).toMatch(/^iaw_portal=iaw_ps_[\w-]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
    expect(first.cookie).not.toContain(token);
    const again = await exchange(token);
    expect(again).toMatchObject({ status: 401, cookie: null, body: { error: { code: 'portal_token_used' } } });
  });

  it('is refused when expired, revoked or unknown, and its exchange needs the portal header', async () => {
    const tenantId = uniqueTenant();
    const expired = await openSession(tenantId);
    await pool.query(`UPDATE portal_sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired.id]);
    expect((await exchange(expired.token)).body.error.code).toBe('portal_token_expired');

    const revoked = await openSession(tenantId);
    expect((await stack.request('DELETE', `/v1/tenants/${tenantId}/portal-sessions/${revoked.id}`)).status).toBe(204);
    expect((await exchange(revoked.token)).body.error.code).toBe('portal_token_revoked');
    expect(
      (await stack.request('DELETE', `/v1/tenants/${tenantId}/portal-sessions/${revoked.id}`)).body.error.code,
    ).toBe('portal_session_not_found');

    expect(await exchange('iaw_pt_madeup')).toMatchObject({
      status: 401,
      body: { error: { code: 'portal_token_invalid' } },
    });
    const fresh = await openSession(tenantId);
    expect(await exchange(fresh.token, {})).toMatchObject({
      status: 401,
      body: { error: { code: 'portal_header_required' } },
    });
    expect((await exchange(fresh.token)).status).toBe(200);
  });

  it('is stored only as a hash', async () => {
    const { id, token } = await openSession(uniqueTenant());
    const { rows } = await pool.query(`SELECT row_to_json(p)::text AS row FROM portal_sessions p WHERE id = $1`, [id]);
    expect(rows[0].row).not.toContain(token);
  });

  it("can be opened by a tenant key for its own tenant only; a portal session manages none of the tenant's credentials", async () => {
    const a = uniqueTenant();
    const created = await stack.request('POST', `/v1/tenants/${a}/api-keys`, {});
    const key = created.body.key;
    const { token } = await openSession(a, key);
    const other = await stack.request('POST', `/v1/tenants/${uniqueTenant()}/portal-sessions`, undefined, {
      apiKey: key,
    });
    expect(other).toMatchObject({ status: 403, body: { error: { code: 'permission_denied' } } });
    const { cookie } = await exchange(token);
    const sibling = await openSession(a, key);
    const refused: Array<[string, string, unknown?]> = [
      ['POST', `/v1/tenants/${a}/portal-sessions`],
      ['DELETE', `/v1/tenants/${a}/portal-sessions/${sibling.id}`],
      ['POST', `/v1/tenants/${a}/api-keys`, {}],
      ['GET', `/v1/tenants/${a}/api-keys`],
      ['DELETE', `/v1/tenants/${a}/api-keys/${created.body.id}`],
    ];
    for (const [method, path, body] of refused) {
      const answer = await asPortal(cookie!, method, path, body);
      expect([method, path, answer.status, answer.body.error.code]).toEqual([method, path, 403, 'api_key_required']);
      expect(answer.body.error.message).toContain('a portal session cannot do it');
    }
    // Nothing was revoked: the key and the other session still work, and the key still manages both.
    const listed = await stack.request('GET', `/v1/tenants/${a}/api-keys`, undefined, { apiKey: key });
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((k: { id: string }) => k.id)).toEqual([created.body.id]);
    expect((await exchange(sibling.token)).status).toBe(200);
    expect(
      (await stack.request('DELETE', `/v1/tenants/${a}/portal-sessions/${sibling.id}`, undefined, { apiKey: key }))
        .status,
    ).toBe(204);
    expect(
      (await stack.request('DELETE', `/v1/tenants/${a}/api-keys/${created.body.id}`, undefined, { apiKey: key }))
        .status,
    ).toBe(204);
    const platform = await stack.request('POST', `/v1/tenants/${stack.config.platformTenantId}/portal-sessions`);
    expect(platform).toMatchObject({ status: 422, body: { error: { code: 'platform_tenant' } } });
  });
});

describe('a portal session', () => {
  it("reaches its own tenant's resources and nothing of another tenant, through any route", async () => {
    const [a, b] = await Promise.all([tenantWithSubscription(), tenantWithSubscription()]);
    const { cookie } = await exchange((await openSession(a.tenantId)).token);
    const as = (method: string, path: string, body?: unknown) => asPortal(cookie!, method, path, body);

    expect((await as('GET', '/portal/session')).body).toMatchObject({ tenant_id: a.tenantId });
    expect((await as('GET', '/v1/subscriptions')).body.data.map((s: { id: string }) => s.id)).toEqual([
      a.subscriptionId,
    ]);
    expect((await as('GET', `/v1/subscriptions/${a.subscriptionId}/attempt-stats`)).body.hours).toHaveLength(24);
    expect((await as('GET', `/v1/deliveries/${a.deliveryId}`)).status).toBe(200);

    const reads = [
      `/v1/subscriptions/${b.subscriptionId}`,
      `/v1/subscriptions/${b.subscriptionId}/attempt-stats`,
      `/v1/events/${b.eventId}`,
      `/v1/deliveries/${b.deliveryId}`,
    ];
    for (const path of reads) expect([path, (await as('GET', path)).status]).toEqual([path, 404]);
    for (const path of ['/v1/subscriptions', '/v1/deliveries', '/v1/dead-letters', '/v1/operator-actions']) {
      const answer = await as('GET', `${path}?tenant_id=${b.tenantId}`);
      expect([path, answer.status, answer.body.error.code]).toEqual([path, 403, 'permission_denied']);
    }
    const changes: Array<[string, string, unknown?]> = [
      ['PATCH', `/v1/subscriptions/${b.subscriptionId}`, { description: 'taken over' }],
      ['POST', `/v1/subscriptions/${b.subscriptionId}/disable`, {}],
      ['POST', `/v1/subscriptions/${b.subscriptionId}/rotate-secret`, {}],
      ['POST', `/v1/subscriptions/${b.subscriptionId}/test`, { event_type: 'user.updated' }],
      ['DELETE', `/v1/subscriptions/${b.subscriptionId}`],
      ['POST', `/v1/deliveries/${b.deliveryId}/cancel`, {}],
      ['POST', `/v1/deliveries/${b.deliveryId}/retry`],
      ['POST', `/v1/dead-letters/${b.deliveryId}/redrive`],
    ];
    for (const [method, path, body] of changes)
      expect([method, path, (await as(method, path, body)).status]).toEqual([method, path, 404]);
    const foreign: Array<[string, string, unknown?]> = [
      ['POST', '/v1/subscriptions', { tenant_id: b.tenantId, url: 'https://example.com/hook', event_types: ['*'] }],
      ['POST', '/v1/dead-letters/redrive', { tenant_id: b.tenantId }],
      ['POST', `/v1/tenants/${b.tenantId}/api-keys`, {}],
      ['DELETE', `/v1/tenants/${b.tenantId}/portal-sessions/psn_01ARZ3NDEKTSV4RRFFQ69G5FAV`],
      ['POST', '/v1/events', { event_type: 'user.updated', tenant: { id: a.tenantId }, data: { user: { id: 'u' } } }],
    ];
    for (const [method, path, body] of foreign)
      expect([method, path, (await as(method, path, body)).status]).toEqual([method, path, 403]);
    expect((await stack.request('GET', `/v1/subscriptions/${b.subscriptionId}`)).body.description).toBeNull();
  });

  it('counts only with the portal header (no cross-site request can add it), and ends when revoked or expired', async () => {
    const { tenantId } = await tenantWithSubscription();
    const session = await openSession(tenantId);
    const { cookie } = await exchange(session.token);
    expect(await asPortal(cookie!, 'GET', '/v1/subscriptions', undefined, {})).toMatchObject({
      status: 401,
      body: { error: { code: 'portal_header_required' } },
    });
    expect((await asPortal(cookie!, 'GET', '/v1/subscriptions')).status).toBe(200);
    // An API key beside the cookie wins: the cookie is not a second credential of a keyed call.
    expect(
      (
        await asPortal(cookie!, 'GET', '/portal/session', undefined, {
          ...PORTAL,
          authorization: `Bearer ${stack.apiKey}`,
        })
      ).body.error.code,
    ).toBe('portal_session_required');

    await pool.query(`UPDATE portal_sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [session.id]);
    expect((await asPortal(cookie!, 'GET', '/v1/subscriptions')).body.error.code).toBe('portal_session_ended');

    const second = await exchange((await openSession(tenantId)).token);
    expect((await asPortal(second.cookie!, 'GET', '/v1/subscriptions')).status).toBe(200);
    expect((await asPortal(second.cookie!, 'DELETE', '/portal/session')).status).toBe(204);
    expect((await asPortal(second.cookie!, 'GET', '/v1/subscriptions')).body.error.code).toBe('portal_session_ended');
  });
});

describe('the portal cookie behind a TLS proxy (TRUST_PROXY)', () => {
  let proxied: Stack;
  beforeAll(async () => {
    // The suite's requests come from 127.0.0.1, the address a proxy on the same host would have.
    proxied = await startStack(WAITING_POLICY, { worker: false, config: { trustProxy: ['127.0.0.1'] } });
  });
  afterAll(() => proxied?.stop());

  const HTTPS = { ...PORTAL, 'x-forwarded-proto': 'https' };
  const exchangeOn = async (on: Stack, token: string, headers: Record<string, string>) => {
    const response = await on.client.request('POST', '/portal/session', { token }, { apiKey: null, headers });
    return response.headers.get('set-cookie')!;
  };
  const tokenOn = async (on: Stack) =>
    (await on.request('POST', `/v1/tenants/${uniqueTenant()}/portal-sessions`)).body.url.split('#token=')[1];

  it('is Secure and __Host- prefixed when the trusted proxy says https, and read only under that name', async () => {
    const cookie = await exchangeOn(proxied, await tokenOn(proxied), HTTPS);
    expect(cookie).toMatch(
      /^__Host-iaw_portal=iaw_ps_[\w-]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict; Secure$/,
    );
    expect(cookie).not.toMatch(/Domain=/i);
    const secret = cookie.split(';')[0].split('=')[1];
    const call = (cookieHeader: string, headers: Record<string, string>) =>
      proxied.client.request('GET', '/portal/session', undefined, {
        apiKey: null,
        headers: { cookie: cookieHeader, ...headers },
      });
    expect((await call(`__Host-iaw_portal=${secret}`, HTTPS)).status).toBe(200);
    // Over https the unprefixed name, which any sibling host could have set, is not read.
    expect((await call(`iaw_portal=${secret}`, HTTPS)).body.error.code).toBe('unauthorized');
    const ended = await proxied.client.request('DELETE', '/portal/session', undefined, {
      apiKey: null,
      headers: { cookie: `__Host-iaw_portal=${secret}`, ...HTTPS },
    });
    expect(ended.status).toBe(204);
    expect(ended.headers.get('set-cookie')).toBe(
      '__Host-iaw_portal=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure',
    );
  });

  it('keeps the plain name without Secure over plain http, and ignores X-Forwarded-Proto from a proxy not trusted', async () => {
    const plain = /^iaw_portal=iaw_ps_[\w-]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict$/;
    expect(await exchangeOn(proxied, await tokenOn(proxied), PORTAL)).toMatch(plain);
    // The file's own stack trusts no proxy (the default): a client cannot claim https for itself.
    expect(await exchangeOn(stack, await tokenOn(stack), HTTPS)).toMatch(plain);
  });
});

describe('the portal files', () => {
  it('are served at /portal/ with a strict CSP, index.html revalidated and hashed assets immutable', async () => {
    const redirect = await fetch(`${stack.baseUrl}/portal`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/portal/');
    const index = await fetch(`${stack.baseUrl}/portal/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const csp = index.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe');
    const html = await index.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const asset = html.match(/src="(\/portal\/assets\/[^"]+\.js)"/)![1];
    const script = await fetch(`${stack.baseUrl}${asset}`);
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(script.headers.get('content-type')).toMatch(/javascript/);
  });
});
