import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { makeTestPki } from '../helpers/certificates';
import { uniqueTenant } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { deliveryIn } from '../helpers/fixtures';
import { TestReceiver } from '../helpers/receiver';
import { expectAccessible } from '../helpers/accessibility';
import { Stack, startStack } from '../helpers/stack';
import { TokenServer } from '../helpers/token-server';

/**
 * The tenant portal in a real browser (Debian's Chromium, headless, driven by playwright-core) against the real
 * stack: api, worker, Postgres, Temporal and a receiver on 127.0.0.1. Three attempts two seconds apart, so a
 * delivery that fails twice and then succeeds takes about four seconds and dead letters come quickly.
 */
const POLICY = { retryScheduleMs: [0, 2_000, 2_000], attemptTimeoutMs: 2_000, ttlMs: 86_400_000 };
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts', 'portal');

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const cspViolations: string[] = [];
const tenantId = uniqueTenant();
/** Attempts per event id; user.deleted fails while `deadEnd` holds, other events fail their first two attempts. */
const seen = new Map<string, number>();
let deadEnd = true;
const receiver = new TestReceiver((_index, request) => {
  const eventId = String(request.headers['x-intelliauth-event-id']);
  const count = (seen.get(eventId) ?? 0) + 1;
  seen.set(eventId, count);
  if (eventId.startsWith('evt_test_')) return { status: 200, body: 'test received' };
  if (request.headers['x-intelliauth-event-type'] === 'user.deleted')
    return deadEnd ? { status: 500, body: 'down' } : { status: 200 };
  return count <= 2 ? { status: 503, body: `not yet (${count})` } : { status: 200, body: 'ok' };
});

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  stack = await startStack(POLICY);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  context.setDefaultTimeout(15_000);
  page = await context.newPage();
  page.on('pageerror', (error) => console.error(`portal page error: ${error.message}`));
  page.on(
    'console',
    (message) => void (/Content Security Policy/i.test(message.text()) && cspViolations.push(message.text())),
  );
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function shoot(name: string, target: Page = page): Promise<void> {
  await target.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

const apiGet = async (path: string) => (await stack.request('GET', path)).body;

describe('the tenant portal in a browser', () => {
  let subscriptionId: string;

  it('opens a session from the one-time URL and forgets the token', async () => {
    const created = await stack.request('POST', `/v1/tenants/${tenantId}/portal-sessions`);
    await page.goto(`${stack.baseUrl}${created.body.url}`);
    await page.getByRole('heading', { name: 'Subscriptions', exact: true }).waitFor();
    expect(page.url()).not.toContain('token');
    await page.getByText(tenantId).waitFor();
    // The same link a second time: refused, with the error code shown.
    const second = await context.newPage();
    await second.goto(`${stack.baseUrl}${created.body.url}`);
    await second.getByText('portal_token_used').waitFor();
    await second.close();
  });

  it('creates a subscription and shows its secret once', async () => {
    const url = await stack.startReceiver(receiver);
    await page.getByLabel('Endpoint URL').fill(url);
    await page.getByLabel('Description (optional)').fill('CRM sync');
    await page.getByRole('checkbox', { name: /Every event/ }).check();
    await page.getByRole('button', { name: 'Create subscription' }).click();
    const secret = await page.getByTestId('secret').textContent();
    expect(secret).toMatch(/^whsec_/);
    await page.getByRole('link', { name: url }).waitFor();
    await expectAccessible(page, 'subscriptions');
    await shoot('subscriptions');
    await page.getByRole('link', { name: 'Open the new subscription' }).click();
    await page.getByTestId('subscription-url').waitFor();
    subscriptionId = page.url().split('/').pop()!;
    expect(subscriptionId).toMatch(/^whsub_/);
  });

  it('sends a test event and shows what the receiver answered', async () => {
    await page.getByLabel('Event type').selectOption('user.signed_up');
    await page.getByRole('button', { name: 'Send test' }).click();
    await page.getByTestId('test-result').getByText('Delivered: HTTP 200').waitFor();
    await page.getByTestId('test-result').getByText('test received').waitFor();
  });

  it('sets a receiver header that the test send carries, shows it masked, and removes it', async () => {
    await page.getByLabel('Header name', { exact: true }).fill('X-Api-Key');
    await page.getByLabel('Value', { exact: true }).fill('portal-header-secret');
    await page.getByRole('button', { name: 'Set header' }).click();
    await page.getByTestId('subscription-headers').getByText('X-Api-Key: ********').waitFor();
    await expectAccessible(page, 'subscription-headers');
    const sent = receiver.requests.length;
    await page.getByRole('button', { name: 'Send test' }).click();
    await eventually(
      () => receiver.requests.slice(sent).some((r) => r.headers['x-api-key'] === 'portal-header-secret'),
      {
        timeout: 10_000,
        description: 'the test send with the header',
      },
    );
    expect(await page.content()).not.toContain('portal-header-secret');
    await page.getByRole('button', { name: 'Remove X-Api-Key' }).click();
    await page.getByTestId('subscription-headers').getByText('none').waitFor();
  });

  it('sets OAuth2 client credentials whose bearer token the test send carries, and removes them', async () => {
    const tokens = new TokenServer('portal-client', 'portal-client-secret');
    const tokenUrl = await tokens.start();
    try {
      await page.getByLabel('Token endpoint URL', { exact: true }).fill(tokenUrl);
      await page.getByLabel('Client id', { exact: true }).fill('portal-client');
      await page.getByLabel('Client secret', { exact: true }).fill('portal-client-secret');
      await page.getByLabel('Scope (optional)', { exact: true }).fill('webhooks:receive');
      await page.getByLabel('Client authentication at the token endpoint').selectOption('body');
      await page.getByRole('button', { name: 'Set OAuth2' }).click();
      await page
        .getByTestId('subscription-oauth2')
        .getByText(`client portal-client at ${tokenUrl}, scope webhooks:receive`)
        .waitFor();
      expect(await page.getByLabel('Client secret', { exact: true }).inputValue()).toBe('');
      await expectAccessible(page, 'subscription-oauth2');
      const sent = receiver.requests.length;
      await page.getByRole('button', { name: 'Send test' }).click();
      await eventually(() => receiver.requests.slice(sent).some((r) => tokens.accepts(r.headers.authorization)), {
        timeout: 10_000,
        description: "the test send with the token server's bearer token",
      });
      // Sent in the form body, as chosen, not as HTTP Basic.
      expect(tokens.requests.map((r) => [r.authorization, r.form.get('client_id')])).toEqual([
        [undefined, 'portal-client'],
      ]);
      const content = await page.content();
      for (const secret of ['portal-client-secret', ...tokens.tokens()]) expect(content).not.toContain(secret);
      await page.getByRole('button', { name: 'Remove OAuth2' }).click();
      await page.getByTestId('subscription-oauth2').getByText('none').waitFor();
      expect((await apiGet(`/v1/subscriptions/${subscriptionId}`)).oauth2).toBeNull();
    } finally {
      await tokens.stop();
    }
  });

  it("sets a client certificate, shows the API's refusal of a key that is not its own, its subject and expiry, and removes it", async () => {
    const pki = makeTestPki();
    await page.getByLabel('Certificate (PEM, then any intermediates)', { exact: true }).fill(pki.client.certificate);
    await page.getByLabel('Private key (PEM)', { exact: true }).fill(pki.stranger.privateKey);
    await page.getByRole('button', { name: 'Set client certificate' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: 'invalid_tls_client tls_client.private_key is not the key of tls_client.certificate' })
      .waitFor();
    await page.getByLabel('Private key (PEM)', { exact: true }).fill(pki.client.privateKey);
    await page.getByLabel('CA bundle (PEM, optional)', { exact: true }).fill(pki.ca);
    await page.getByRole('button', { name: 'Set client certificate' }).click();
    const shown = page.getByTestId('subscription-tls-client');
    await shown.getByText('O=IntelliAuth, CN=webhooks client, issued by CN=Receiver Test CA').waitFor();
    const { tls_client: certificate } = await apiGet(`/v1/subscriptions/${subscriptionId}`);
    expect(Date.parse(certificate.expires_at)).toBeGreaterThan(Date.now() + 86_400_000);
    expect(await shown.locator('time').getAttribute('datetime')).toBe(certificate.expires_at);
    expect(await page.getByLabel('Private key (PEM)', { exact: true }).inputValue()).toBe('');
    expect(await page.content()).not.toContain(pki.client.privateKey.split('\n')[1]);
    await expectAccessible(page, 'subscription-tls-client');
    await shoot('subscription-receiver-auth');
    await page.getByRole('button', { name: 'Remove client certificate' }).click();
    await shown.getByText('none', { exact: true }).waitFor();
    expect((await apiGet(`/v1/subscriptions/${subscriptionId}`)).tls_client).toBeNull();
  });

  it('shows the attempts of a delivery that fails twice and then succeeds, as they happen', async () => {
    const published = await stack.request('POST', '/v1/events', {
      event_type: 'user.signed_up',
      tenant: { id: tenantId },
      data: { user: { id: 'usr_42', email: 'ada@example.com' } },
    });
    const deliveryId = published.body.deliveries[0].id;
    await page.goto(`${stack.baseUrl}/portal/#/deliveries/${deliveryId}`);
    const counts = new Set<number>();
    await eventually(
      async () => {
        counts.add(await page.locator('[data-testid=attempts] tbody tr').count());
        return (await page.getByTestId('delivery-status').textContent())?.includes('delivered');
      },
      { timeout: 30_000, description: 'the delivery to show delivered' },
    );
    await page.locator('[data-testid=attempts] tbody tr').nth(2).waitFor();
    expect([...counts].some((count) => count < 3)).toBe(true);
    const rows = await page.locator('[data-testid=attempts] tbody tr').allInnerTexts();
    expect(rows.map((row) => row.split('\t')[2])).toEqual(['503', '503', '200']);
    await page.getByText('"email": "ada@example.com"').waitFor();
    await expectAccessible(page, 'delivery');
    await shoot('delivery');
    await page.goto(`${stack.baseUrl}/portal/#/deliveries?subscription_id=${subscriptionId}`);
    await page.getByRole('link', { name: deliveryId }).waitFor();
    await expectAccessible(page, 'deliveries');
    await shoot('deliveries');
    // A time window after it leaves nothing; the filter is kept in the address.
    await page.getByLabel('Created from').fill('2099-01-01T00:00');
    await page.getByText('Nothing matches.').waitFor();
    expect(page.url()).toMatch(/from=(2098-12-31|2099-01-01)T/);
  });

  it('rotates the secret with a chosen grace period and charts the attempts', async () => {
    await page.goto(`${stack.baseUrl}/portal/#/subscriptions/${subscriptionId}`);
    // The delivery above: two failed attempts and one that succeeded, in the current hour.
    await page.locator('figcaption .legend-failed').getByText('2 failed', { exact: true }).waitFor();
    await page.locator('figcaption .legend-ok').getByText('1 succeeded', { exact: true }).waitFor();
    await page.getByLabel('Grace period').selectOption('3600');
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    expect(await page.getByTestId('secret').textContent()).toMatch(/^whsec_/);
    await expectAccessible(page, 'subscription');
    await shoot('subscription');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shoot('subscription-dark');
    const background = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    expect(background).toBe('rgb(13, 17, 23)');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('redrives a dead letter, then all that match, with the bulk job’s progress', async () => {
    const publish = async () =>
      (
        await stack.request('POST', '/v1/events', {
          event_type: 'user.deleted',
          tenant: { id: tenantId },
          data: { user: { id: `usr_${Date.now()}` } },
        })
      ).body.deliveries[0].id as string;
    const ids = [await publish(), await publish()];
    for (const id of ids) await deliveryIn(stack.client, id, 'dead_lettered', 30_000);
    // The run of failures was warned about at its first dead letter (just after it): the subscription's page says so.
    await eventually(() => apiGet(`/v1/subscriptions/${subscriptionId}`), {
      timeout: 10_000,
      description: 'the failing warning',
      until: (subscription) => subscription.failing_warning !== null,
    });
    // The page is still the subscription's (same address): loaded again, with the warning.
    await page.goto(`${stack.baseUrl}/portal/#/subscriptions/${subscriptionId}`);
    await page.reload();
    await page
      .getByTestId('failing-banner')
      .getByText(/will be disabled/)
      .waitFor();
    await page.goto(`${stack.baseUrl}/portal/#/dead-letters?reason=exhausted`);
    await page.getByRole('link', { name: ids[1] }).waitFor();
    await expectAccessible(page, 'dead-letters');
    await shoot('dead-letters');
    deadEnd = false;
    await page.getByRole('button', { name: `Redrive ${ids[0]}` }).click();
    await deliveryIn(stack.client, ids[0], 'delivered', 30_000);
    await page.getByRole('button', { name: 'Redrive all matching' }).click();
    await page
      .getByTestId('bulk-progress')
      .getByText(/Bulk redrive completed: 1 of 1/)
      .waitFor({ timeout: 30_000 });
    await deliveryIn(stack.client, ids[1], 'delivered', 30_000);
  });

  it('resends a delivered delivery from its page, and replays the subscription’s window with the job’s progress', async () => {
    const [delivered] = (await apiGet(`/v1/deliveries?subscription_id=${subscriptionId}&status=delivered`)).data;
    await page.goto(`${stack.baseUrl}/portal/#/deliveries/${delivered.id}`);
    await page.getByRole('button', { name: 'Resend' }).click();
    await eventually(() => apiGet(`/v1/deliveries/${delivered.id}`), {
      timeout: 30_000,
      description: 'the resend delivered',
      until: (d) => d.status === 'delivered' && d.attempt_count === delivered.attempt_count + 1,
    });
    await page.goto(`${stack.baseUrl}/portal/#/subscriptions/${subscriptionId}`);
    // Recovered since the redrives: no banner any more.
    await page.getByTestId('subscription-url').waitFor();
    expect(await page.getByTestId('failing-banner').count()).toBe(0);
    await page.getByRole('checkbox', { name: /Only the events whose delivery failed/ }).uncheck();
    // The three events published above are a signed_up and two deleted: first the deleted ones alone.
    const types = page.getByRole('group', { name: /Event types to replay/ });
    await types.getByRole('checkbox', { name: /Every event/ }).uncheck();
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    // None picked: the API's refusal, beside the form.
    await page.getByRole('alert').filter({ hasText: 'validation_failed' }).filter({ hasText: 'event_types' }).waitFor();
    await types.getByRole('checkbox', { name: /^user\.deleted / }).check();
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    await page
      .getByTestId('replay-progress')
      .getByText(/Replay done: 2 events, 2 delivered, 0 failed/)
      .waitFor({ timeout: 30_000 });
    // Then every type: all three delivered again.
    await types.getByRole('checkbox', { name: /Every event/ }).check();
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    await page
      .getByTestId('replay-progress')
      .getByText(/Replay done: 3 events, 3 delivered, 0 failed/)
      .waitFor({ timeout: 30_000 });
    await expectAccessible(page, 'subscription-replay');
  });

  it("switches the subscription to ordering per entity and shows a user's key blocked behind the delivery it waits for", async () => {
    await page.goto(`${stack.baseUrl}/portal/#/subscriptions/${subscriptionId}`);
    await page.getByLabel(/^Ordering/).selectOption('per_entity');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page
      .getByTestId('subscription-ordering')
      .getByText(/^per entity/)
      .waitFor();
    expect((await apiGet(`/v1/subscriptions/${subscriptionId}`)).ordering).toBe('per_entity');
    await page.getByTestId('blocked-keys-none').waitFor();
    // Two events of one user: the first fails its first two attempts, the second waits for it.
    const published: string[] = [];
    for (const name of ['Grace', 'Grace Hopper'])
      published.push(
        (
          await stack.request('POST', '/v1/events', {
            event_type: 'user.updated',
            tenant: { id: tenantId },
            data: { user: { id: 'usr_ordered', name }, changed_fields: ['name'] },
          })
        ).body.deliveries[0].id as string,
      );
    await eventually(
      async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        return page.getByTestId('blocked-keys').getByRole('link', { name: published[0] }).isVisible();
      },
      { timeout: 10_000, description: 'the blocked key' },
    );
    await page.getByTestId('blocked-keys').getByText('user:usr_ordered').waitFor();
    await expectAccessible(page, 'subscription-ordered');
    await deliveryIn(stack.client, published[1], 'delivered', 30_000);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByTestId('blocked-keys-none').waitFor();
  });

  it('disables the subscription with a reason', async () => {
    await page.goto(`${stack.baseUrl}/portal/#/subscriptions/${subscriptionId}`);
    await page.getByLabel('Reason (optional)').fill('receiver retired');
    await page.getByRole('button', { name: 'Disable subscription' }).click();
    await page.getByTestId('subscription-state').getByText('disabled (receiver retired)').waitFor();
    expect((await apiGet(`/v1/subscriptions/${subscriptionId}`)).enabled).toBe(false);
  });

  it('lists who did what in the audit log, and the catalogue with schemas and the verification snippet', async () => {
    await page.goto(`${stack.baseUrl}/portal/#/audit`);
    for (const action of [
      'subscription.disable',
      'subscription.rotate_secret',
      'dead_letter.redrive',
      'dead_letter.bulk_redrive',
    ])
      await page.getByText(action).first().waitFor();
    await expectAccessible(page, 'audit');
    await shoot('audit');
    await page.goto(`${stack.baseUrl}/portal/#/catalogue`);
    await page.getByRole('heading', { name: 'security.breach_incident_opened' }).waitFor();
    // Every type of the catalogue: the product contract's 26 and the operational webhook.* ones.
    expect(await page.locator('section[id^=type-]').count()).toBe((await apiGet('/v1/event-types')).data.length);
    await page.getByText('new Webhook(process.env.WEBHOOK_SECRET)').waitFor();
    await expectAccessible(page, 'catalogue');
    await shoot('catalogue');
  });

  it('fits a 360 px iframe and works with the keyboard', async () => {
    const narrow = await context.newPage();
    await narrow.setViewportSize({ width: 360, height: 740 });
    await narrow.goto(`${stack.baseUrl}/portal/#/subscriptions/${subscriptionId}`);
    await narrow.getByTestId('subscription-url').waitFor();
    expect(await narrow.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
    await shoot('subscription-narrow', narrow);
    await narrow.keyboard.press('Tab');
    expect(await narrow.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    await narrow.keyboard.press('Enter');
    expect(await narrow.evaluate('document.activeElement?.id')).toBe('main');
    await narrow.keyboard.press('Tab');
    await narrow.keyboard.press('Enter');
    // The first link of the page's content: back to the list.
    await narrow.getByRole('heading', { name: 'Subscriptions', exact: true }).waitFor();
    await narrow.close();
  });

  it('creates a subscription disabled, to be tested before it goes live', async () => {
    await page.goto(`${stack.baseUrl}/portal/#/subscriptions`);
    await page.getByLabel('Endpoint URL').fill(await stack.startReceiver(new TestReceiver()));
    await page.getByRole('checkbox', { name: /Every event/ }).check();
    await page.getByRole('checkbox', { name: /Create it disabled/ }).check();
    await page.getByRole('button', { name: 'Create subscription' }).click();
    await page.getByRole('link', { name: 'Open the new subscription' }).click();
    await page.getByTestId('subscription-state').getByText('disabled (created disabled)').waitFor();
  });

  it('met no Content-Security-Policy violation', () => {
    expect(cspViolations).toEqual([]);
  });
});
