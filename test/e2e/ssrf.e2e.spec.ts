import { uniqueTenant } from '../helpers/database';
import { TestReceiver } from '../helpers/receiver';
import { Stack, startStack } from '../helpers/stack';

/** The SSRF guard as the API shows it: refused IP literals at create/update, test sends judged at connect time. */
const policy = { retryScheduleMs: [0], attemptTimeoutMs: 2_000, ttlMs: 3_600_000 };
let stack: Stack;

beforeAll(async () => {
  // The suite's stack allowlists 127.0.0.1/32 and ::1/128 (its receivers live there); nothing else.
  stack = await startStack(policy, { worker: false });
});
afterAll(async () => {
  await stack?.stop();
});

const subscribe = (url: string) =>
  stack.request('POST', '/v1/subscriptions', { tenant_id: uniqueTenant(), url, event_types: ['user.*'] });

describe('subscription URLs and the SSRF guard', () => {
  it.each([
    ['http://169.254.169.254/latest/meta-data', /169\.254\.169\.254 is a cloud metadata address/],
    ['http://[::ffff:10.0.0.1]/', /::ffff:a00:1 \(IPv4 10\.0\.0\.1\) is a private address/],
    ['http://0xa9fea9fe/latest/meta-data', /cloud metadata/],
    ['https://[fd00:ec2::254]/', /cloud metadata/],
    ['http://[64:ff9b::a9fe:a9fe]/', /cloud metadata/],
    ['http://10.0.0.5:8080/hooks', /10\.0\.0\.5 is a private address/],
    ['http://012.0.0.5/', /10\.0\.0\.5 is a private address/],
    ['http://127.0.0.2/', /loopback/],
    ['http://0/', /unspecified/],
    ['http://[fe80::1]/', /link-local/],
  ])('answers 422 refused_url for %s', async (url, why) => {
    const answer = await subscribe(url);
    expect(answer.status).toBe(422);
    expect(answer.body.error.code).toBe('refused_url');
    expect(answer.body.error.message).toMatch(why);
    expect(answer.body.error.message).toMatch(/WEBHOOK_ALLOWED_TARGETS/);
  });

  it('refuses the same on update, and leaves the subscription as it was', async () => {
    const created = await subscribe('https://hooks.example.com/intelliauth');
    expect(created.status).toBe(201);
    const patched = await stack.request('PATCH', `/v1/subscriptions/${created.body.id}`, {
      url: 'http://[::ffff:169.254.169.254]/',
    });
    expect(patched.status).toBe(422);
    expect(patched.body.error.code).toBe('refused_url');
    expect((await stack.request('GET', `/v1/subscriptions/${created.body.id}`)).body.url).toBe(
      'https://hooks.example.com/intelliauth',
    );
  });

  it('accepts hostnames without resolving them, and allowlisted addresses in any encoding', async () => {
    expect((await subscribe('https://hooks.example.com/intelliauth')).status).toBe(201);
    expect((await subscribe('http://localhost:9/hook')).status).toBe(201);
    expect((await subscribe('http://127.0.0.1:9/hook')).status).toBe(201);
    expect((await subscribe('http://0x7f.1:9/hook')).status).toBe(201);
    expect((await subscribe('http://[::1]:9/hook')).status).toBe(201);
  });
});

describe('test sends with nothing allowlisted', () => {
  let strict: Stack;
  const canary = new TestReceiver(() => ({ status: 200, body: 'canary' }));

  beforeAll(async () => {
    strict = await startStack(policy, { worker: false, config: { outboundAllowlist: [] } });
    await canary.start();
  });
  afterAll(async () => {
    await canary.stop();
    await strict?.stop();
  });

  it('refuses a loopback literal at create time, and a name that resolves to loopback at connect time', async () => {
    const port = canary.port;
    const literal = await strict.request('POST', '/v1/subscriptions', {
      tenant_id: uniqueTenant(),
      url: `http://127.0.0.1:${port}/hook`,
      event_types: ['*'],
    });
    expect(literal.status).toBe(422);
    expect(literal.body.error.code).toBe('refused_url');

    // localhost is a hostname: accepted now, judged when connecting (it resolves to loopback on this machine).
    const named = await strict.request('POST', '/v1/subscriptions', {
      tenant_id: uniqueTenant(),
      url: `http://localhost:${port}/hook`,
      event_types: ['*'],
    });
    expect(named.status).toBe(201);
    const sent = await strict.request('POST', `/v1/subscriptions/${named.body.id}/test`, {
      event_type: 'user.signed_in',
    });
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({
      delivered: false,
      status_code: null,
      error: expect.stringMatching(
        /^refused by the SSRF guard: localhost resolved to (127\.0\.0\.1|::1), a loopback address$/,
      ),
    });
    expect(canary.connections).toBe(0);
  });
});
