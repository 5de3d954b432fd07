import type { LookupAddress } from 'node:dns';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'pg';
import { createDeliveryActivities, DeliveryActivities } from '../../activities/delivery.activities';
import { ListenSessionsRepository } from '../../libs/db/listen-sessions.repository';
import { ListenHandoff } from '../../libs/outbound/listen-handoff';
import { WebhookSender } from '../../libs/outbound/webhook-sender';
import { StoredEvent } from '../../libs/contracts/envelope';
import { newEventId, newSubscriptionId } from '../../libs/contracts/ids';
import { AttemptsRepository } from '../../libs/db/attempts.repository';
import { DeliveriesRepository } from '../../libs/db/deliveries.repository';
import { OperationalEvents } from '../../libs/operational/operational-event-emitter';
import { EventsRepository } from '../../libs/db/events.repository';
import { SubscriptionsRepository } from '../../libs/db/subscriptions.repository';
import { OutboundPolicy, Verdict } from '../../libs/outbound/address-policy';
import { Resolver } from '../../libs/outbound/guarded-connector';
import { SecretBox } from '../../libs/secrets/secret-box';
import { generateSigningSecret } from '../../libs/signing/signing';
import { testMasterKeys, testPool, uniqueTenant } from '../helpers/database';
import { TestReceiver } from '../helpers/receiver';
import { testAttemptSettings, testTokens } from '../helpers/attempt-settings';

/**
 * The SSRF guard at connect time, against real listeners on loopback only. Hostnames resolve through a fake
 * resolver (never real DNS), and no test here ever connects to anything but 127.0.0.1 or ::1.
 */

/** Hostnames the tests use, and what the fake resolver answers for them; any other name fails as DNS would. */
const ZONE: Record<string, LookupAddress[]> = {
  'loopback.attacker.test': [{ address: '127.0.0.1', family: 4 }],
  'loopback6.attacker.test': [{ address: '::1', family: 6 }],
  'mapped.attacker.test': [{ address: '::ffff:127.0.0.1', family: 6 }],
  'both.attacker.test': [
    { address: '127.0.0.1', family: 4 },
    { address: '::1', family: 6 },
  ],
  localhost: [{ address: '127.0.0.1', family: 4 }],
  'canary.internal.test': [{ address: '127.0.0.1', family: 4 }],
};
const resolved: string[] = [];
const fakeResolver: Resolver = async (hostname) => {
  resolved.push(hostname);
  const answers = ZONE[hostname.toLowerCase().replace(/\.$/, '')]; // a trailing dot is the same (fully qualified) name
  if (answers === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return answers;
};

/** Receivers on both loopbacks: they count TCP connections, so "refused" means no SYN ever reached them. */
const canary4 = new TestReceiver(() => ({ status: 200, body: 'canary' }));
const canary6 = new TestReceiver(() => ({ status: 200, body: 'canary' }));
let port4: number;
let port6: number;
const senders: WebhookSender[] = [];
const receivers: TestReceiver[] = [];

function sender(allowlist: string[], policy = new OutboundPolicy(allowlist)): WebhookSender {
  const created = new WebhookSender({ policy, lookup: fakeResolver });
  senders.push(created);
  return created;
}

/** Every way a URL can name this machine's loopback, literal or through DNS; `v6` ones reach the ::1 canary. */
function loopbackUrls(): Array<{ url: string; canary: TestReceiver }> {
  const v4 = (host: string) => ({ url: `http://${host}:${port4}/hook`, canary: canary4 });
  const v6 = (host: string) => ({ url: `http://${host}:${port6}/hook`, canary: canary6 });
  return [
    v4('127.0.0.1'),
    v4('0x7f.1'),
    v4('2130706433'),
    v4('017700000001'),
    v4('127.1'),
    v4('0x7f000001'),
    v4('0177.0.0.1'),
    v4('127.0.0.1.'),
    v4('[::ffff:127.0.0.1]'),
    v4('[::ffff:7f00:1]'),
    v6('[::1]'),
    v6('[0:0:0:0:0:0:0:1]'),
    v4('localhost'),
    v4('loopback.attacker.test'),
    v4('LOOPBACK.Attacker.test.'),
    v4('mapped.attacker.test'),
    v4('both.attacker.test'),
    v6('loopback6.attacker.test'),
  ];
}

const send = (via: WebhookSender, url: string) =>
  via.send(url, { 'content-type': 'application/json' }, '{"probe":true}', 3_000);
const settle = () => sleep(200);

beforeAll(async () => {
  await Promise.all([canary4.start('127.0.0.1'), canary6.start('::1')]);
  [port4, port6] = [canary4.port, canary6.port];
});
afterAll(async () => {
  await Promise.all(senders.map((s) => s.close()));
  await Promise.all(receivers.map((r) => r.stop()));
  await canary4.stop();
  await canary6.stop();
});
beforeEach(() => {
  canary4.reset();
  canary6.reset();
});

describe('SSRF guard in WebhookSender (connect time, after DNS)', () => {
  it('with no allowlist, refuses every loopback encoding and every name resolving to loopback: no TCP connection at all', async () => {
    const guarded = sender([]);
    for (const { url } of loopbackUrls()) {
      const outcome = await send(guarded, url);
      expect({ url, statusCode: outcome.statusCode, error: outcome.error }).toEqual({
        url,
        statusCode: null,
        error: expect.stringMatching(/^refused by the SSRF guard: .*(loopback)/),
      });
    }
    await settle();
    expect({
      v4: canary4.connections,
      v6: canary6.connections,
      requests: canary4.requests.length + canary6.requests.length,
    }).toEqual({ v4: 0, v6: 0, requests: 0 });
  });

  it('says which name resolved to which address', async () => {
    const outcome = await send(sender([]), `http://loopback.attacker.test:${port4}/hook`);
    expect(outcome.error).toBe(
      'refused by the SSRF guard: loopback.attacker.test resolved to 127.0.0.1, a loopback address',
    );
    const mapped = await send(sender([]), `http://[::ffff:127.0.0.1]:${port4}/hook`);
    expect(mapped.error).toBe('refused by the SSRF guard: ::ffff:7f00:1 (IPv4 127.0.0.1) is a loopback address');
    await settle();
    expect(canary4.connections).toBe(0);
  });

  it('with 127.0.0.1/32 and ::1/128 allowed, the same URLs reach the canary', async () => {
    const allowed = sender(['127.0.0.1/32', '::1/128']);
    for (const { url, canary } of loopbackUrls()) {
      const before = canary.requests.length;
      const outcome = await send(allowed, url);
      expect({ url, statusCode: outcome.statusCode, error: outcome.error }).toEqual({
        url,
        statusCode: 200,
        error: null,
      });
      expect(canary.requests.length).toBe(before + 1);
    }
    expect(canary4.connections).toBeGreaterThan(0);
    expect(canary6.connections).toBeGreaterThan(0);
  });

  it('an allowlisted hostname reaches its private address; another name for the same address does not', async () => {
    const byName = sender(['canary.internal.test']);
    expect(await send(byName, `http://canary.internal.test:${port4}/hook`)).toMatchObject({
      statusCode: 200,
      error: null,
    });
    expect(canary4.requests.length).toBe(1);
    expect(await send(byName, `http://loopback.attacker.test:${port4}/hook`)).toMatchObject({
      statusCode: null,
      error: expect.stringMatching(/SSRF guard/),
    });
    expect(await send(byName, `http://127.0.0.1:${port4}/hook`)).toMatchObject({
      statusCode: null,
      error: expect.stringMatching(/SSRF guard/),
    });
    expect(canary4.requests.length).toBe(1);
  });

  it('resolves a name once per connection, and never with the system resolver', async () => {
    resolved.length = 0;
    await send(sender([]), `http://loopback.attacker.test:${port4}/hook`);
    expect(resolved).toEqual(['loopback.attacker.test']);
    expect(await send(sender([]), `http://unknown.attacker.test:${port4}/hook`)).toMatchObject({
      statusCode: null,
      error: 'DNS lookup failed (ENOTFOUND)',
    });
  });

  it('closes a socket whose remote address turns out refused before a single byte is written (defence in depth)', async () => {
    // A policy that lets the pre-connect check through once, as if DNS or the literal check had been fooled.
    class FooledOnce extends OutboundPolicy {
      private fooled = false;
      override checkAddress(address: string, hostname?: string): Verdict {
        if (!this.fooled) {
          this.fooled = true;
          return { allowed: true, address, allowlisted: false };
        }
        return super.checkAddress(address, hostname);
      }
    }
    const outcome = await send(sender([], new FooledOnce([])), `http://127.0.0.1:${port4}/hook`);
    expect(outcome).toMatchObject({
      statusCode: null,
      error: 'refused by the SSRF guard: 127.0.0.1 is a loopback address',
    });
    await settle();
    expect(canary4.connections).toBe(1);
    expect(canary4.requests.length).toBe(0);
  });
});

describe('SSRF guard and redirects through the attempt activity', () => {
  let pool: Pool;
  let subscriptions: SubscriptionsRepository;
  let events: EventsRepository;
  let deliveries: DeliveriesRepository;
  let attempts: AttemptsRepository;

  beforeAll(() => {
    pool = testPool();
    subscriptions = new SubscriptionsRepository(pool, SecretBox.parse(testMasterKeys()));
    events = new EventsRepository(pool);
    deliveries = new DeliveriesRepository(pool);
    attempts = new AttemptsRepository(pool, subscriptions);
  });
  afterAll(async () => {
    await pool.end();
  });

  const activitiesWith = (allowlist: string[]): DeliveryActivities => {
    const guarded = sender(allowlist);
    return createDeliveryActivities({
      attempts,
      sender: guarded,
      tokens: testTokens(guarded, pool),
      disabler: { disable: async () => undefined } as never,
      operational: new OperationalEvents(events, subscriptions, 'tnt_platform'),
      failureDisableAfterMs: 0,
      listen: new ListenHandoff(new ListenSessionsRepository(pool)),
      ...testAttemptSettings(),
    });
  };

  async function deliveryTo(url: string): Promise<string> {
    const tenantId = uniqueTenant();
    await subscriptions.create({
      id: newSubscriptionId(),
      tenantId,
      url,
      eventTypes: ['user.*'],
      description: null,
      signingSecret: generateSigningSecret(),
    });
    const event: StoredEvent = {
      event_id: newEventId(),
      event_type: 'user.signed_up',
      occurred_at: new Date().toISOString(),
      tenant: { id: tenantId, slug: 'acme' },
      data: { user: { id: 'usr_1' } },
    };
    const outcome = await events.publish(event, 'hash');
    if (outcome.kind !== 'created') throw new Error('expected a new event');
    return outcome.deliveries[0].id;
  }

  const attempt = (activities: DeliveryActivities, deliveryId: string) =>
    activities.attemptDelivery({
      deliveryId,
      attempt: 1,
      attemptTimeoutMs: 3_000,
      deadline: new Date(Date.now() + 3_600_000).toISOString(),
    });

  it('records a refused attempt as a failed attempt with the guard’s reason (no status code), and the canary sees nothing', async () => {
    const activities = activitiesWith([]);
    for (const host of ['0x7f.1', '[::ffff:127.0.0.1]', 'mapped.attacker.test']) {
      const deliveryId = await deliveryTo(`http://${host}:${port4}/hook`);
      const outcome = await attempt(activities, deliveryId);
      expect(outcome).toEqual({
        kind: 'failed',
        statusCode: null,
        error: expect.stringMatching(/^refused by the SSRF guard: .*loopback address$/),
        retryAfterMs: null,
      });
      expect(await deliveries.attempts(deliveryId)).toEqual([
        expect.objectContaining({
          attempt: 1,
          status_code: null,
          succeeded: false,
          error: expect.stringMatching(/^refused by the SSRF guard/),
        }),
      ]);
    }
    await settle();
    expect(canary4.connections).toBe(0);
  });

  it('delivers to the same canary once 127.0.0.1/32 is allowlisted', async () => {
    const deliveryId = await deliveryTo(`http://0x7f.1:${port4}/hook`);
    expect(await attempt(activitiesWith(['127.0.0.1/32']), deliveryId)).toEqual({
      kind: 'delivered',
      statusCode: 200,
      error: null,
    });
    expect(canary4.requests.length).toBe(1);
  });

  it.each([301, 302, 303, 307, 308])(
    'never follows a %i: a failed attempt, and the target receives nothing',
    async (status) => {
      const target = new TestReceiver(() => ({ status: 200, body: 'canary' }));
      await target.start();
      const targetUrl = target.url('/elsewhere');
      const redirecting = new TestReceiver(() => ({ status, headers: { location: targetUrl } }));
      receivers.push(redirecting);
      const deliveryId = await deliveryTo(await redirecting.start());
      try {
        expect(await attempt(activitiesWith(['127.0.0.1/32']), deliveryId)).toEqual({
          kind: 'failed',
          statusCode: status,
          error: `redirect (${status} to ${targetUrl}) not followed`,
          retryAfterMs: null,
        });
        expect(await deliveries.attempts(deliveryId)).toEqual([
          expect.objectContaining({ status_code: status, succeeded: false }),
        ]);
        expect(redirecting.requests).toHaveLength(1);
        await settle();
        expect({ connections: target.connections, requests: target.requests.length }).toEqual({
          connections: 0,
          requests: 0,
        });
      } finally {
        await target.stop();
      }
    },
  );
});
