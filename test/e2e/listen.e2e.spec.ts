import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Pool } from 'pg';
import { verifyWebhook } from '@intelliauth/webhooks-receiver';
import { EventType } from '../../libs/contracts/catalogue';
import { renderDeliveryBody } from '../../libs/contracts/envelope';
import { eventTypeDefinition } from '../../libs/contracts/event-data-schemas';
import { EVENT_COLUMNS, EventRow, toStoredEvent } from '../../libs/db/rows';
import { TestClient } from '../helpers/client';
import { testPool, uniqueTenant } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { deliveryIn, tenantKey } from '../helpers/fixtures';
import { ReceivedRequest, TestReceiver } from '../helpers/receiver';
import { Stack, startStack } from '../helpers/stack';

const CLI = join(__dirname, '../../packages/cli/bin/intelliauth-webhooks.js');
const TTL_MS = 2_000;
/** Three attempts a second apart, each given 2 s: the local receiver's answers make the whole schedule. */
const POLICY = { retryScheduleMs: [0, 1_000, 1_000], attemptTimeoutMs: 2_000, ttlMs: 86_400_000 };

let stack: Stack;
let pool: Pool;
const tools: ChildProcess[] = [];

beforeAll(async () => {
  // No address is allowed out: the receiver on 127.0.0.1 is reached only through the tool.
  stack = await startStack(POLICY, { config: { listenSessionTtlMs: TTL_MS, outboundAllowlist: [] } });
  pool = testPool();
});
afterAll(async () => {
  for (const tool of tools) if (tool.exitCode === null && tool.signalCode === null) tool.kill('SIGKILL');
  await pool?.end();
  await stack?.stop();
});

/** `intelliauth-webhooks` as a developer runs it, the API and the credential (a key, else a portal session) named by the environment. */
function run(args: string[], credential: string | { portalSession: string }) {
  const tool = spawn(process.execPath, [CLI, ...args], {
    env: {
      ...process.env,
      INTELLIAUTH_WEBHOOKS_URL: stack.baseUrl,
      ...(typeof credential === 'string'
        ? { INTELLIAUTH_WEBHOOKS_KEY: credential }
        : { INTELLIAUTH_WEBHOOKS_PORTAL_SESSION: credential.portalSession }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  tools.push(tool);
  const lines: string[] = [];
  createInterface({ input: tool.stdout! }).on('line', (line) => lines.push(line));
  createInterface({ input: tool.stderr! }).on('line', (line) => lines.push(`stderr: ${line}`));
  const line = (pattern: RegExp) =>
    eventually(() => lines.find((l) => pattern.test(l)), { timeout: 15_000, description: `a line ${pattern}` });
  return { tool, lines, line, exited: once(tool, 'close') as Promise<[number | null, string | null]> };
}

/** A tenant, its own key, and `listen` forwarding its user.* deliveries to a started receiver. */
async function listening(receiver: TestReceiver) {
  const tenantId = uniqueTenant();
  const { key } = await tenantKey(stack.client, tenantId);
  const url = await stack.startReceiver(receiver);
  const listen = run(['listen', '--forward-to', url, '--events', 'user.*'], key);
  const secret = (await listen.line(/^Signing secret/)).split(': ')[1];
  const sessionId = (await listen.line(/^Listen session whsub_/)).split(' ')[2];
  return { tenantId, key, secret, sessionId, ...listen, asTenant: stack.client.as(key) };
}

async function publishExample(tenantId: string, eventType: EventType): Promise<string> {
  const published = await stack.client.post(
    '/v1/events',
    { event_type: eventType, tenant: { id: tenantId }, data: eventTypeDefinition(eventType).example },
    202,
  );
  expect(published.deliveries).toHaveLength(1);
  return published.deliveries[0].id;
}

/** What the product would have POSTed for this attempt of the stored event. */
async function renderedBody(request: ReceivedRequest, subscriptionId: string): Promise<string> {
  const { rows } = await pool.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = $1::text`, [
    request.headers['webhook-id'],
  ]);
  const attempt = Number(request.headers['x-intelliauth-delivery-attempt']);
  return renderDeliveryBody(toStoredEvent(rows[0]), { attempt, subscriptionId });
}

const sessionsOf = async (client: TestClient) => (await client.get('/v1/listen-sessions')).data;

/** Nothing of the session is left: not listed, its subscription deleted, no request waiting, out of the quota. */
async function expectNothingLeft(asTenant: TestClient, sessionId: string) {
  expect(await sessionsOf(asTenant)).toEqual([]);
  expect((await asTenant.request('GET', `/v1/subscriptions/${sessionId}`)).status).toBe(404);
  const waiting = await pool.query('SELECT 1 FROM listen_requests WHERE subscription_id = $1::text', [sessionId]);
  expect(waiting.rowCount).toBe(0);
}

describe('intelliauth-webhooks listen', () => {
  it('forwards each delivery byte for byte, signed, and records the local 200, 500 and timeout on the schedule', async () => {
    // By event type: user.signed_up is taken at once, user.updated fails once with 500, user.disabled once outlasts
    // the attempt's timeout.
    const seen = new Map<string, number>();
    const receiver = new TestReceiver((_index, request) => {
      const type = String(request.headers['x-intelliauth-event-type']);
      const nth = (seen.get(type) ?? 0) + 1;
      seen.set(type, nth);
      if (nth === 1 && type === 'user.updated') return { status: 500, body: 'not yet' };
      if (nth === 1 && type === 'user.disabled') return { status: 200, delayMs: 3_000 };
      return { status: 200, body: 'ok' };
    });
    const { tenantId, secret, sessionId, lines } = await listening(receiver);

    const taken = await deliveryIn(stack.client, await publishExample(tenantId, 'user.signed_up'), 'delivered');
    const failedOnce = await deliveryIn(stack.client, await publishExample(tenantId, 'user.updated'), 'delivered');
    const timedOut = await deliveryIn(stack.client, await publishExample(tenantId, 'user.disabled'), 'delivered');

    expect(taken.attempts.map((a: { status_code: number }) => a.status_code)).toEqual([200]);
    expect(taken.attempts[0].response_excerpt).toBe('ok');
    expect(failedOnce.attempts.map((a: { status_code: number }) => a.status_code)).toEqual([500, 200]);
    expect(failedOnce.attempts[0]).toMatchObject({ succeeded: false, error: 'receiver answered 500' });
    expect(timedOut.attempts.map((a: { status_code: number }) => a.status_code)).toEqual([null, 200]);
    expect(timedOut.attempts[0].error).toMatch(/^local receiver: no complete response within \d+ ms$/);
    for (const delivery of [failedOnce, timedOut]) {
      const [first, second] = delivery.attempts;
      const waited = Date.parse(second.started_at) - (Date.parse(first.started_at) + first.duration_ms);
      expect(waited).toBeGreaterThanOrEqual(POLICY.retryScheduleMs[1] - 50);
    }

    expect(receiver.requests).toHaveLength(5);
    for (const request of receiver.requests) {
      expect(request.body).toBe(await renderedBody(request, sessionId));
      expect(verifyWebhook(request.rawBody, request.headers, secret).event_id).toBe(request.headers['webhook-id']);
      expect(request.headers['user-agent']).toBe('IntelliAuth-Webhooks/1.0');
    }
    // One line per delivery attempt: time, type, event id, local status, latency.
    const printed = lines.filter((line) => / user\.(signed_up|updated|disabled) /.test(line));
    expect(printed).toHaveLength(5);
    expect(printed[0]).toMatch(
      new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z  user\\.signed_up  ${taken.event_id}  attempt 1  200  \\d+ ms$`),
    );
    expect(printed.filter((line) => line.includes('  500  '))).toHaveLength(1);
    expect(printed.filter((line) => /no answer \(no complete response/.test(line))).toHaveLength(1);
  });

  it('test-sends with a tenant key to the session, and publishes with a service key to the tenant', async () => {
    const receiver = new TestReceiver();
    const { tenantId, key, secret, line } = await listening(receiver);

    const tested = run(['trigger', 'user.signed_up'], key);
    expect(await tested.exited).toEqual([0, null]);
    expect(
      await tested.line(/^Test-sent user\.signed_up evt_test_\w+ to listen session whsub_\w+: .* answered 200$/),
    ).toBeTruthy();
    expect(receiver.requests[0].headers['webhook-id']).toMatch(/^evt_test_/);
    expect(() => verifyWebhook(receiver.requests[0].rawBody, receiver.requests[0].headers, secret)).not.toThrow();

    const published = run(['trigger', 'user.signed_up', '--tenant', tenantId], stack.apiKey);
    expect(await published.exited).toEqual([0, null]);
    const eventId = (await published.line(/^Published user\.signed_up evt_/)).split(' ')[2];
    await line(new RegExp(`  user\\.signed_up  ${eventId}  attempt 1  200  `));
    expect(receiver.requests[1].headers['webhook-id']).toBe(eventId);

    const noTenant = run(['trigger', 'user.signed_up'], stack.apiKey);
    expect(await noTenant.exited).toEqual([2, null]);
    expect(noTenant.lines).toEqual(['stderr: A service key publishes to a tenant: name it with --tenant <tenant id>.']);
  });

  it('ends the session on Ctrl-C: nothing is left behind', async () => {
    const { tool, sessionId, asTenant, exited, lines } = await listening(new TestReceiver());
    expect((await sessionsOf(asTenant)).map((s: { id: string }) => s.id)).toEqual([sessionId]);
    // Each poll (at most half the TTL apart) moves the last sight of the tool on, and the expiry a TTL after it.
    const [polled] = await eventually(
      async () => {
        const listed = await sessionsOf(asTenant);
        return Date.parse(listed[0].last_seen_at) > Date.parse(listed[0].created_at) && listed;
      },
      { timeout: TTL_MS * 2, description: 'a poll after the opening' },
    );
    expect(Date.parse(polled.expires_at) - Date.parse(polled.last_seen_at)).toBe(TTL_MS);
    tool.kill('SIGINT');
    expect(await exited).toEqual([0, null]);
    expect(lines.at(-1)).toBe(`Listen session ${sessionId} ended.`);
    await expectNothingLeft(asTenant, sessionId);
  });

  it('ends the session of a killed tool after the TTL: nothing is left behind', async () => {
    const { tool, sessionId, asTenant, tenantId } = await listening(new TestReceiver());
    tool.kill('SIGKILL');
    await once(tool, 'close');
    expect((await sessionsOf(asTenant)).map((s: { id: string }) => s.id)).toEqual([sessionId]);
    const deliveryId = await publishExample(tenantId, 'user.signed_up');
    await eventually(async () => (await asTenant.request('GET', `/v1/subscriptions/${sessionId}`)).status === 404, {
      timeout: TTL_MS * 4,
      description: 'the expired session to be ended',
    });
    await expectNothingLeft(asTenant, sessionId);
    // The delivery handed to nobody ends as the deliveries of a deleted subscription do.
    const ended = await deliveryIn(stack.client, deliveryId, 'dead_lettered');
    expect(ended.failure_reason).toBe('subscription_deleted');
  });

  it('works with a portal session, scoped to its tenant as a tenant key is', async () => {
    const tenantId = uniqueTenant();
    const { key } = await tenantKey(stack.client, tenantId);
    const { key: otherKey } = await tenantKey(stack.client, uniqueTenant());
    const openPortalSession = async () =>
      (await stack.client.post(`/v1/tenants/${tenantId}/portal-sessions`, {}, 201)) as { id: string; url: string };
    const revoked = async (portalSessionId: string) =>
      (await pool.query(`SELECT revoked_at FROM portal_sessions WHERE id = $1::text`, [portalSessionId])).rows[0]
        .revoked_at !== null;
    const receiver = new TestReceiver();
    const url = await stack.startReceiver(receiver);

    // A portal link: the tool exchanges its one-time token for a session of its own.
    const { id: linkSessionId, url: link } = await openPortalSession();
    const listen = run(['listen', '--forward-to', url, '--events', 'user.*'], { portalSession: link });
    const sessionId = (await listen.line(/^Listen session whsub_/)).split(' ')[2];
    expect(await listen.line(/^Listen session whsub_/)).toBe(
      `Listen session ${sessionId} for tenant ${tenantId}: user.*`,
    );
    const secret = (await listen.line(/^Signing secret/)).split(': ')[1];
    expect((await sessionsOf(stack.client.as(key))).map((s: { id: string }) => s.id)).toEqual([sessionId]);
    expect(await sessionsOf(stack.client.as(otherKey))).toEqual([]);
    const delivered = await deliveryIn(stack.client, await publishExample(tenantId, 'user.signed_up'), 'delivered');
    expect(delivered.attempts.map((a: { status_code: number }) => a.status_code)).toEqual([200]);
    expect(verifyWebhook(receiver.requests[0].rawBody, receiver.requests[0].headers, secret).event_id).toBe(
      delivered.event_id,
    );

    // The link's token opens one session only.
    const reused = run(['listen', '--forward-to', url], { portalSession: link });
    expect(await reused.exited).toEqual([1, null]);
    expect(reused.lines.join('\n')).toMatch(/the API refused \(401 portal_token_used\)/);

    // A browser's session, as its cookie holds it: another tenant is refused, its own is test-sent to.
    const browserSession = await openPortalSession();
    const exchanged = await stack.client.request(
      'POST',
      '/portal/session',
      { token: browserSession.url.split('#token=')[1] },
      { apiKey: null, headers: { 'x-intelliauth-portal': '1' } },
    );
    const cookieValue = /^iaw_portal=(iaw_ps_[\w-]+);/.exec(exchanged.headers.get('set-cookie') ?? '')![1];
    const elsewhere = run(['listen', '--forward-to', url, '--tenant', uniqueTenant()], { portalSession: cookieValue });
    expect(await elsewhere.exited).toEqual([1, null]);
    expect(elsewhere.lines.join('\n')).toMatch(/the API refused \(403 permission_denied\)/);
    const tested = run(['trigger', 'user.signed_up'], { portalSession: cookieValue });
    expect(await tested.exited).toEqual([0, null]);
    expect(tested.lines).toEqual([
      expect.stringMatching(
        new RegExp(`^Test-sent user\\.signed_up evt_test_\\w+ to listen session ${sessionId}: .* answered 200$`),
      ),
    ]);

    expect(await revoked(linkSessionId)).toBe(false);
    listen.tool.kill('SIGINT');
    expect(await listen.exited).toEqual([0, null]);
    await expectNothingLeft(stack.client.as(key), sessionId);
    // The session the tool opened from the link ends with it; the browser's, given as a cookie value, stays.
    expect(await revoked(linkSessionId)).toBe(true);
    expect(await revoked(browserSession.id)).toBe(false);
  });
});
