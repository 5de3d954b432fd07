import { Browser, chromium, Page } from 'playwright-core';
import { expectAccessible } from '../helpers/accessibility';
import { uniqueTenant } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { subscribe, tenantKey } from '../helpers/fixtures';
import { TestReceiver } from '../helpers/receiver';
import { Stack, startStack, WAITING_POLICY } from '../helpers/stack';

/** The portal's listen sessions in a real browser (Debian's Chromium, headless) against the real stack. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let stack: Stack;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  stack = await startStack(WAITING_POLICY, { worker: false });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage();
  page.setDefaultTimeout(15_000);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('listen sessions in the tenant portal', () => {
  it('lists the open sessions apart from the endpoints, and ends one', async () => {
    const tenantId = uniqueTenant();
    const { key } = await tenantKey(stack.client, tenantId);
    const asTenant = stack.client.as(key);
    const url = await stack.startReceiver(new TestReceiver());
    await subscribe(stack.client, url, { tenantId });
    const open = (forwardTo: string) =>
      asTenant.post('/v1/listen-sessions', { event_types: ['user.*'], forward_to: forwardTo }, 201);
    const ended = await open('http://localhost:3000/hooks');
    const kept = await open('http://localhost:4000/other');
    // Another tenant's session is not the portal's to show.
    await stack.client
      .as((await tenantKey(stack.client, uniqueTenant())).key)
      .post('/v1/listen-sessions', { event_types: ['*'], forward_to: 'http://localhost:5000/elsewhere' }, 201);

    const portal = await stack.request('POST', `/v1/tenants/${tenantId}/portal-sessions`);
    await page.goto(`${stack.baseUrl}${portal.body.url}`);
    const sessions = page.getByTestId('listen-sessions');
    await sessions.getByText(ended.id).waitFor();
    expect(await sessions.locator('tbody tr').allInnerTexts()).toEqual([
      expect.stringMatching(new RegExp(`^${kept.id}[\\s\\S]*user\\.\\*\\s+http://localhost:4000/other\\s`)),
      expect.stringMatching(new RegExp(`^${ended.id}[\\s\\S]*user\\.\\*\\s+http://localhost:3000/hooks\\s`)),
    ]);
    await expectAccessible(page, 'listen-sessions');
    // Opened, last poll, open until.
    expect(await sessions.locator('tbody tr').first().locator('time').count()).toBe(3);
    // The endpoints list shows the subscription, not the sessions (which are subscriptions too).
    await page.getByRole('link', { name: url }).waitFor();
    expect(await page.getByText('http://localhost:3000/hooks').count()).toBe(1);

    await page.getByRole('button', { name: `End listen session ${ended.id}` }).click();
    await sessions.getByText(ended.id).waitFor({ state: 'detached' });
    await sessions.getByText(kept.id).waitFor();
    await eventually(
      async () => (await asTenant.get('/v1/listen-sessions')).data.map((s: { id: string }) => s.id).join() === kept.id,
      { timeout: 5_000, description: 'the ended session to be gone from the API' },
    );
    expect((await asTenant.request('GET', `/v1/subscriptions/${ended.id}`)).status).toBe(404);
  });
});
