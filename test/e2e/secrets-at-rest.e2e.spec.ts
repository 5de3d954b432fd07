import { Pool } from 'pg';
import { Webhook } from 'standardwebhooks';
import { newSubscriptionId } from '../../libs/contracts/ids';
import { SubscriptionsRepository } from '../../libs/db/subscriptions.repository';
import { SecretBox } from '../../libs/secrets/secret-box';
import { generateSigningSecret } from '../../libs/signing/signing';
import { TestClient } from '../helpers/client';
import { testDatabaseUrl, testMasterKeys, testPool, uniqueTenant } from '../helpers/database';
import { freePort } from '../../tools/embedded/free-port';
import { eventually } from '../helpers/eventually';
import { deliveryIn } from '../helpers/fixtures';
import { TestReceiver } from '../helpers/receiver';
import { Client } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import { AppConfig, loadConfig } from '../../libs/config/config';
import { Launched, launchEmbedded } from '../../tools/embedded/launcher';
import { OnDemandTemporalClient } from '../../libs/temporal/client';

let launched: Launched;
/** The REST API of the launched api process, with the service key. */
let api: TestClient;
let pool: Pool;
let temporal: Client;
const logged: string[] = [];
const childOutput: Record<string, string> = { api: '', worker: '' };
const apiKey = `service-key-${randomBytes(12).toString('hex')}`;

beforeAll(async () => {
  // The product as npm start runs it (api and worker processes), against the suite's Postgres and Temporal, with
  // every line both processes print kept for inspection.
  const config: AppConfig = {
    ...loadConfig({}),
    port: await freePort(),
    grpcPort: await freePort(),
    databaseUrl: testDatabaseUrl(),
    temporalAddress: process.env.TEST_TEMPORAL_ADDRESS,
    temporalTaskQueue: `secrets-at-rest-${process.pid}`,
    apiKeys: [apiKey],
    secretsMasterKeys: testMasterKeys(),
    delivery: { retryScheduleMs: [0, 500], attemptTimeoutMs: 2_000, ttlMs: 86_400_000 },
  };
  launched = await launchEmbedded({
    config,
    apiKey,
    dataDir: '/nonexistent',
    postgresDir: '/nonexistent',
    postgresPort: 0,
    say: (line) => logged.push(line),
    onChildOutput: (name, text) => {
      logged.push(text);
      childOutput[name] += text;
    },
  });
  api = new TestClient(launched.apiUrl, apiKey);
  pool = testPool();
  temporal = await new OnDemandTemporalClient(process.env.TEST_TEMPORAL_ADDRESS!, 'default').get();
});
afterAll(async () => {
  await launched?.stop();
  await pool?.end();
  await temporal?.connection.close();
});

describe('secrets at rest', () => {
  it('leaves no signing secret and no API key in clear in any table, in the api’s and worker’s logs or in workflow histories after a full run', async () => {
    const tenantId = uniqueTenant();
    const receiver = TestReceiver.answering(500, 200);
    const url = await receiver.start();
    try {
      const tenantKey = (await api.request('POST', `/v1/tenants/${tenantId}/api-keys`, { name: 'console' })).body
        .key as string;
      const created = await api.request(
        'POST',
        '/v1/subscriptions',
        { tenant_id: tenantId, url, event_types: ['*'] },
        { apiKey: tenantKey },
      );
      const rotated = await api.request('POST', `/v1/subscriptions/${created.body.id}/rotate-secret`, {
        grace_period_seconds: 3600,
      });
      const secrets = [created.body.secret as string, rotated.body.secret as string];
      const published = await api.request('POST', '/v1/events', {
        event_type: 'user.signed_up',
        tenant: { id: tenantId },
        data: { user: { id: 'usr_1' } },
      });
      const deliveryId = published.body.deliveries[0].id;
      await deliveryIn(api, deliveryId, 'delivered', 30_000);
      await api.request('POST', `/v1/subscriptions/${created.body.id}/test`, { event_type: 'user.updated' });
      await api.request('GET', '/v1/deliveries', undefined, { apiKey: 'a-wrong-key-that-is-long-enough' });

      // The secrets worked: the receiver's copy verifies with either one.
      const last = receiver.requests.at(-1)!;
      for (const secret of secrets)
        expect(() => new Webhook(secret).verify(last.body, last.headers as Record<string, string>)).not.toThrow();

      const tables = (
        await pool.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)
      ).rows.map((r) => r.tablename);
      expect(tables).toEqual(
        expect.arrayContaining([
          'subscriptions',
          'subscription_secrets',
          'api_keys',
          'events',
          'deliveries',
          'delivery_attempts',
          'operator_actions',
        ]),
      );
      let dump = '';
      for (const table of tables) dump += JSON.stringify((await pool.query(`SELECT * FROM "${table}"`)).rows);
      const sealed = (
        await pool.query(`SELECT secret FROM subscription_secrets WHERE subscription_id = $1::text`, [created.body.id])
      ).rows;
      expect(sealed.every((row: { secret: string }) => row.secret.startsWith('v1:'))).toBe(true);

      const history = JSON.stringify(
        await temporal.workflow.getHandle(`delivery:${published.body.event_id}:${created.body.id}`).fetchHistory(),
      );
      const logs = logged.join('');
      expect(logs.length).toBeGreaterThan(100);
      for (const [where, text] of [
        ['database', dump],
        ['logs', logs],
        ['history', history],
      ] as const) {
        expect({ where, whsec: text.includes('whsec_') }).toEqual({ where, whsec: false });
        for (const secret of [...secrets, ...secrets.map((s) => s.slice('whsec_'.length)), tenantKey, apiKey]) {
          expect({ where, found: text.includes(secret) }).toEqual({ where, found: false });
        }
      }
    } finally {
      await receiver.stop();
    }
  });

  it('logs JSON lines: one per api request with its request id (sent or made, and answered), one per attempt with its ids', async () => {
    const tenantId = uniqueTenant();
    const receiver = TestReceiver.answering(200);
    const url = await receiver.start();
    try {
      await api.request('POST', '/v1/subscriptions', { tenant_id: tenantId, url, event_types: ['user.signed_up'] });
      const sent = await api.request(
        'POST',
        '/v1/events',
        { event_type: 'user.signed_up', tenant: { id: tenantId }, data: { user: { id: 'usr_1' } } },
        { headers: { 'x-request-id': 'req-logging-1' } },
      );
      expect(sent.headers.get('x-request-id')).toBe('req-logging-1');
      const published = sent.body as { event_id: string; deliveries: Array<{ id: string }> };
      const made = await api.request('GET', '/v1/event-types', undefined, {
        headers: { 'x-request-id': 'has spaces, so not kept' },
      });
      expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      await deliveryIn(api, published.deliveries[0].id, 'delivered', 30_000);

      const lines = (part: string) =>
        childOutput[part]
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, any>);
      await eventually(
        () => lines('worker').some((line) => line.msg === 'attempt' && line.delivery_id === published.deliveries[0].id),
        { timeout: 10_000, description: 'the attempt line' },
      );
      expect(lines('api').find((line) => line.req?.id === 'req-logging-1')).toMatchObject({
        service: 'api',
        level: 30,
        req: { method: 'POST', url: '/v1/events' },
        res: { statusCode: 202 },
      });
      expect(lines('api').find((line) => line.req?.id === made.headers.get('x-request-id'))).toMatchObject({
        req: { url: '/v1/event-types' },
      });
      expect(
        lines('worker').find((line) => line.msg === 'attempt' && line.delivery_id === published.deliveries[0].id),
      ).toMatchObject({
        service: 'worker',
        event_id: published.event_id,
        tenant_id: tenantId,
        attempt: 1,
        outcome: 'delivered',
        status_code: 200,
      });
      // Every line either process wrote is a JSON object (nothing printed around the logger).
      for (const part of ['api', 'worker']) {
        const stray = childOutput[part].split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{'));
        expect({ part, stray }).toEqual({ part, stray: [] });
      }
    } finally {
      await receiver.stop();
    }
  });

  it('rotates the master key: secrets sealed with the old key are resealed with the new one and still sign', async () => {
    const oldKeys = testMasterKeys();
    const rotatedKeys = `${SecretBox.generateKeyEntry('next')},${oldKeys}`;
    const before = new SubscriptionsRepository(pool, SecretBox.parse(oldKeys));
    const secret = generateSigningSecret();
    const id = newSubscriptionId();
    await before.create({
      id,
      tenantId: uniqueTenant(),
      url: 'https://hooks.example.com/x',
      eventTypes: ['*'],
      description: null,
      signingSecret: secret,
    });

    const after = new SubscriptionsRepository(pool, SecretBox.parse(rotatedKeys));
    const { resealed } = await after.secrets.reseal();
    expect(resealed).toBeGreaterThanOrEqual(1);
    const stored = (await pool.query(`SELECT secret FROM subscription_secrets WHERE subscription_id = $1::text`, [id]))
      .rows[0].secret as string;
    expect(stored.startsWith('v1:next:')).toBe(true);
    const newKeyOnly = rotatedKeys.split(',')[0];
    expect((await new SubscriptionsRepository(pool, SecretBox.parse(newKeyOnly)).target(id))?.signingSecrets).toEqual([
      secret,
    ]);
    // Put the shared test database back on the suite's key for the suites still running.
    expect(
      (await new SubscriptionsRepository(pool, SecretBox.parse(`${oldKeys},${newKeyOnly}`)).secrets.reseal()).resealed,
    ).toBeGreaterThanOrEqual(1);
  });
});
