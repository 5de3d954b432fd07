import { OutboundPolicy } from '../../libs/outbound/address-policy';
import { WebhookSender } from '../../libs/outbound/webhook-sender';
import { deliveryIn, publish, subscribe } from '../helpers/fixtures';
import { ForwardProxy } from '../helpers/forward-proxy';
import { TestReceiver } from '../helpers/receiver';
import { Stack, startStack, WAITING_POLICY } from '../helpers/stack';
import { TokenServer } from '../helpers/token-server';

/**
 * WEBHOOK_EGRESS_PROXY with a real forward proxy (tinyproxy) on 127.0.0.2, an address the SSRF guard does not
 * allow (only 127.0.0.1/32 is allowlisted): it is reached as the proxy, and only as the proxy.
 */
const PROXY_HOST = '127.0.0.2';

let proxy: ForwardProxy;
let proxyUrl: string;
let stack: Stack;

beforeAll(async () => {
  proxy = new ForwardProxy(PROXY_HOST, 'egress', 'proxy-password-1');
  proxyUrl = await proxy.start();
  stack = await startStack(WAITING_POLICY, {
    config: { egressProxy: proxyUrl, outboundAllowlist: ['127.0.0.1/32'] },
  });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await proxy?.stop();
});

const portOf = (url: string) => new URL(url).port;

it('sends every attempt, test send and token fetch through the proxy, as a tunnel to the allowed address', async () => {
  const tokens = new TokenServer('client', 'client-secret-through-proxy');
  const tokenUrl = await tokens.start();
  try {
    const receiver = new TestReceiver((_index, request) => ({
      status: tokens.accepts(request.headers.authorization) ? 200 : 401,
    }));
    const url = await stack.startReceiver(receiver);
    const { tenantId, id } = await subscribe(stack.client, url, {
      oauth2: { token_url: tokenUrl, client_id: 'client', client_secret: 'client-secret-through-proxy' },
    });
    for (let n = 0; n < 3; n++)
      await deliveryIn(stack.client, (await publish(stack.client, tenantId)).deliveries[0].id, 'delivered');
    expect(
      (await stack.client.post(`/v1/subscriptions/${id}/test`, { event_type: 'user.updated' }, 200)).delivered,
    ).toBe(true);

    expect(receiver.requests).toHaveLength(4);
    expect(tokens.requests).toHaveLength(1);
    const connects = proxy.connects();
    expect(connects.filter((target) => target === `127.0.0.1:${portOf(url)}`).length).toBeGreaterThanOrEqual(1);
    expect(connects).toContain(`127.0.0.1:${portOf(tokenUrl)}`);
    // Every connection the receiver and the token server accepted came through a tunnel of the proxy.
    expect(receiver.connections).toBeLessThanOrEqual(
      connects.filter((target) => target.endsWith(`:${portOf(url)}`)).length,
    );
    expect(proxy.log()).not.toContain('client-secret-through-proxy');
  } finally {
    await tokens.stop();
  }
});

describe('the SSRF guard decides before the proxy is asked', () => {
  let proxied: WebhookSender;
  beforeAll(() => {
    proxied = new WebhookSender({
      policy: new OutboundPolicy(['127.0.0.1/32']),
      egressProxy: proxyUrl,
      // internal.example resolves to a private address (what a DNS rebinding would make it do).
      lookup: async (hostname) => [{ address: hostname === 'internal.example' ? '10.0.0.7' : '127.0.0.1', family: 4 }],
    });
  });
  afterAll(() => proxied.close());

  it.each([
    ['a name resolving to a private address', 'http://internal.example/hook', '10.0.0.7'],
    ['a metadata address', 'http://169.254.169.254/latest/meta-data', '169.254.169.254'],
    ['the proxy’s own address, as a target', `http://${PROXY_HOST}:8080/`, PROXY_HOST],
  ])('refuses %s without a word to the proxy', async (_case, target, address) => {
    const before = proxy.log().length;
    const sent = await proxied.send(target, {}, '{}', 2_000);
    expect(sent).toMatchObject({ statusCode: null, networkFailure: 'ssrf_refused' });
    expect(sent.error).toContain(address);
    expect(proxy.log().slice(before)).toBe('');
  });

  it('records what the proxy answered when it refuses the tunnel', async () => {
    const receiver = TestReceiver.answering(200);
    const url = await receiver.start();
    const wrongPassword = new WebhookSender({
      policy: new OutboundPolicy(['127.0.0.1/32']),
      egressProxy: proxyUrl.replace('proxy-password-1', 'wrong'),
    });
    try {
      const sent = await wrongPassword.send(url, {}, '{}', 2_000);
      expect(sent).toMatchObject({ statusCode: null, networkFailure: 'network' });
      // tinyproxy answers 401 to a CONNECT with wrong credentials (most proxies answer 407).
      expect(sent.error).toMatch(/^the egress proxy answered 40[17] to CONNECT 127\.0\.0\.1:\d+$/);
      expect(receiver.connections).toBe(0);
    } finally {
      await wrongPassword.close();
      await receiver.stop();
    }
  });
});
