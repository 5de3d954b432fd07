import { createServer, Server } from 'node:https';
import { AddressInfo } from 'node:net';
import { Pool } from 'pg';
import { CertificateExpiryService } from '../../apps/worker/src/certificate-expiry.service';
import { newSubscriptionId } from '../../libs/contracts/ids';
import { ClientCertificatesRepository } from '../../libs/db/client-certificates.repository';
import { resealReceiverCredentials } from '../../libs/db/receiver-credentials-reseal';
import { EventsRepository } from '../../libs/db/events.repository';
import { SubscriptionsRepository } from '../../libs/db/subscriptions.repository';
import { OperationalEvents } from '../../libs/operational/operational-event-emitter';
import { SecretBox } from '../../libs/secrets/secret-box';
import { makeTestPki, TestPki } from '../helpers/certificates';
import { testMasterKeys, testPool, uniqueTenant } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { deliveryIn, publish, subscribe } from '../helpers/fixtures';
import { OtlpCollector } from '../helpers/otlp-collector';
import { TestReceiver } from '../helpers/receiver';
import { Stack, startStack } from '../helpers/stack';
import { TokenServer } from '../helpers/token-server';
import { WorkerProcess } from '../helpers/worker-process';

/** Attempts one second apart: a failed attempt's retry comes within the test. */
const POLICY = { retryScheduleMs: [0, 1_000, 1_000, 1_000], attemptTimeoutMs: 3_000, ttlMs: 86_400_000 };

let stack: Stack;
let secondWorker: WorkerProcess;
let pool: Pool;
let pki: TestPki;
/** Where the second worker sends its spans. */
let collector: OtlpCollector;

beforeAll(async () => {
  pki = makeTestPki();
  collector = new OtlpCollector();
  const otlpEndpoint = await collector.start();
  stack = await startStack(POLICY);
  secondWorker = await WorkerProcess.start(stack.config, {
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
    OTEL_BSP_SCHEDULE_DELAY: '100',
    WEBHOOK_ALLOWED_TARGETS: '127.0.0.1/32',
    WEBHOOK_RETRY_SCHEDULE: '0s,1s,1s,1s',
    WEBHOOK_ATTEMPT_TIMEOUT: '3s',
    LOG_LEVEL: 'debug',
    LOG_FORMAT: 'json',
  });
  pool = testPool();
}, 90_000);
afterAll(async () => {
  await secondWorker?.stop();
  await stack?.stop();
  await pool?.end();
  await collector?.stop();
});

/** Every row of every table, as one text: what a database dump would hold. */
async function databaseDump(): Promise<string> {
  const { rows } = await pool.query<{ tablename: string }>(
    `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`,
  );
  let dump = '';
  for (const { tablename } of rows) dump += JSON.stringify((await pool.query(`SELECT * FROM "${tablename}"`)).rows);
  return dump;
}

const attemptsOf = async (deliveryId: string) =>
  (await stack.client.get(`/v1/deliveries/${deliveryId}`)).attempts as Array<{
    status_code: number | null;
    error: string | null;
  }>;

it('reseals every receiver credential when the master key rotates', async () => {
  const oldKeys = testMasterKeys();
  const newKey = SecretBox.generateKeyEntry('rotated');
  const id = newSubscriptionId();
  await new SubscriptionsRepository(pool, SecretBox.parse(oldKeys)).create({
    id,
    tenantId: uniqueTenant(),
    url: 'https://hooks.example.com/in',
    eventTypes: ['*'],
    description: null,
    signingSecret: 'whsec_dGVzdA==',
    headers: [{ name: 'X-Api-Key', value: 'header-value-to-reseal', secret: true }],
    oauth2: {
      tokenUrl: 'https://auth.example.com/token',
      clientId: 'client',
      clientSecret: 'client-secret-to-reseal',
      scope: null,
      audience: null,
      clientAuth: 'basic',
    },
    tlsClient: {
      certificate: pki.client.certificate,
      privateKey: pki.client.privateKey,
      ca: null,
      subject: 's',
      issuer: 'i',
      expiresAt: new Date(),
    },
  });
  const rotated = SecretBox.parse(`${newKey},${oldKeys}`);
  expect((await resealReceiverCredentials(pool, rotated)).resealed).toBeGreaterThanOrEqual(1);
  await new SubscriptionsRepository(pool, rotated).secrets.reseal();
  const stored = (await pool.query(`SELECT headers, oauth2, tls_client FROM subscriptions WHERE id = $1::text`, [id]))
    .rows[0];
  for (const sealed of [stored.headers[0].value, stored.oauth2.client_secret, stored.tls_client.private_key])
    expect(sealed.startsWith('v1:rotated:')).toBe(true);
  const opened = await new SubscriptionsRepository(pool, SecretBox.parse(newKey)).target(id);
  expect(opened?.credentials).toMatchObject({
    headers: [{ name: 'X-Api-Key', value: 'header-value-to-reseal' }],
    oauth2: { clientSecret: 'client-secret-to-reseal' },
    tlsClient: { privateKey: pki.client.privateKey },
  });
  // The shared test database back on the suite's key for the suites still running.
  const restored = SecretBox.parse(`${oldKeys},${newKey}`);
  await resealReceiverCredentials(pool, restored);
  await new SubscriptionsRepository(pool, restored).secrets.reseal();
});

describe('custom headers', () => {
  const create = (headers: unknown) =>
    stack.request('POST', '/v1/subscriptions', {
      tenant_id: uniqueTenant(),
      url: 'https://hooks.example.com/in',
      event_types: ['*'],
      headers,
    });

  it('refuses reserved names, CR/LF, oversize values and more than 20 headers, saying which', async () => {
    for (const name of ['Host', 'content-type', 'Content-Length', 'Transfer-Encoding', 'Connection']) {
      const refused = await create({ [name]: 'x' });
      expect({ name, status: refused.status, code: refused.body.error.code }).toEqual({
        name,
        status: 422,
        code: 'reserved_header',
      });
    }
    for (const name of ['X-IntelliAuth-Signature', 'x-intelliauth-anything', 'webhook-id', 'Webhook-Signature']) {
      const refused = await create({ [name]: 'x' });
      expect(refused.status).toBe(422);
      expect(refused.body.error).toMatchObject({ code: 'reserved_header', details: [{ field: `headers.${name}` }] });
    }
    const injected = await create({ 'X-Api-Key': 'abc\r\nX-Evil: 1' });
    expect(injected.status).toBe(422);
    expect(injected.body.error).toMatchObject({ code: 'invalid_header', details: [{ field: 'headers.X-Api-Key' }] });
    expect(JSON.stringify(injected.body)).not.toContain('X-Evil');
    expect((await create({ 'X-Api-Key': { value: 'abc\ndef', secret: false } })).body.error.code).toBe(
      'invalid_header',
    );
    expect((await create({ 'Bad Name': 'x' })).body.error.code).toBe('invalid_header');
    expect((await create({ 'X-Big': 'v'.repeat(4097) })).status).toBe(400);
    expect((await create({ 'X-Fits': 'v'.repeat(4096) })).status).toBe(201);
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, n) => [`X-H${n}`, 'v']));
    expect((await create(many)).status).toBe(400);
  });

  it('sends them with every attempt, shows secret values masked, changes them by name and removes them', async () => {
    const receiver = TestReceiver.answering(200);
    const url = await stack.startReceiver(receiver);
    const apiKeyValue = `ak_${Math.random().toString(36).slice(2)}_sealed`;
    const { tenantId, id } = await subscribe(stack.client, url, {
      headers: { 'X-Api-Key': apiKeyValue, 'X-Route': { value: 'eu-west', secret: false } },
    });
    const shown = await stack.client.get(`/v1/subscriptions/${id}`);
    expect(shown.headers).toEqual({ 'X-Api-Key': '********', 'X-Route': 'eu-west' });

    const published = await publish(stack.client, tenantId);
    await deliveryIn(stack.client, published.deliveries[0].id, 'delivered');
    expect(receiver.requests[0].headers).toMatchObject({ 'x-api-key': apiKeyValue, 'x-route': 'eu-west' });
    expect(receiver.requests[0].headers['content-type']).toBe('application/json');

    const test = await stack.client.post(`/v1/subscriptions/${id}/test`, { event_type: 'user.updated' }, 200);
    expect(test.delivered).toBe(true);
    expect(receiver.requests.at(-1)!.headers['x-api-key']).toBe(apiKeyValue);

    const changed = await stack.request('PATCH', `/v1/subscriptions/${id}`, {
      headers: { 'x-route': null, 'X-Tenant': { value: 'acme', secret: false } },
    });
    expect(changed.body.headers).toEqual({ 'X-Api-Key': '********', 'X-Tenant': 'acme' });
    const full = Object.fromEntries(Array.from({ length: 19 }, (_, n) => [`X-H${n}`, 'v']));
    expect((await stack.request('PATCH', `/v1/subscriptions/${id}`, { headers: full })).body.error).toMatchObject({
      code: 'too_many_headers',
    });

    const list = await stack.client.get(`/v1/subscriptions?tenant_id=${tenantId}`);
    const dump = await databaseDump();
    for (const [where, text] of [
      ['database', dump],
      ['answers', JSON.stringify([shown, changed.body, list, test])],
      ['second worker log', secondWorker.output],
    ])
      expect({ where, found: text.includes(apiKeyValue) }).toEqual({ where, found: false });

    const removed = await stack.request('PATCH', `/v1/subscriptions/${id}`, { headers: null });
    expect(removed.body.headers).toBeNull();
  });
});

describe('OAuth2 client credentials', () => {
  const clientSecret = `cs_${Math.random().toString(36).slice(2)}_never_shown`;
  let tokens: TokenServer;
  let tokenUrl: string;

  beforeEach(async () => {
    tokens = new TokenServer('webhooks-client', clientSecret);
    tokenUrl = await tokens.start();
  });
  afterEach(() => tokens.stop());

  /** A receiver that answers 200 to a live token of the token server and 401 to anything else. */
  const guardedReceiver = () =>
    new TestReceiver((_index, request) => ({ status: tokens.accepts(request.headers.authorization) ? 200 : 401 }));

  async function oauthSubscription(receiver: TestReceiver, clientAuth: 'basic' | 'body' = 'basic') {
    return subscribe(stack.client, await stack.startReceiver(receiver), {
      oauth2: {
        token_url: tokenUrl,
        client_id: 'webhooks-client',
        client_secret: clientSecret,
        scope: 'events:write',
        audience: 'https://receiver.example.com',
        client_auth: clientAuth,
      },
    });
  }

  it('fetches one token for many deliveries across two worker processes, and never shows the secret or a token', async () => {
    const receiver = guardedReceiver();
    const { tenantId, id } = await oauthSubscription(receiver);
    const deliveryIds: string[] = [];
    for (let n = 0; n < 16; n++)
      deliveryIds.push(
        (await publish(stack.client, tenantId, { data: { user: { id: `usr_${n}` } } })).deliveries[0].id,
      );
    for (const deliveryId of deliveryIds) await deliveryIn(stack.client, deliveryId, 'delivered', 30_000);

    expect(tokens.requests).toHaveLength(1);
    expect(tokens.requests[0].form.get('scope')).toBe('events:write');
    expect(tokens.requests[0].form.get('audience')).toBe('https://receiver.example.com');
    expect(tokens.requests[0].form.get('client_secret')).toBeNull();
    expect(receiver.requests).toHaveLength(16);
    // Both workers took part: the second one logged some of the attempts.
    const secondWorkerAttempts = deliveryIds.filter((deliveryId) => secondWorker.output.includes(deliveryId));
    expect(secondWorkerAttempts.length).toBeGreaterThan(0);
    expect(secondWorkerAttempts.length).toBeLessThan(16);

    const shown = await stack.client.get(`/v1/subscriptions/${id}`);
    expect(shown.oauth2).toEqual({
      token_url: tokenUrl,
      client_id: 'webhooks-client',
      scope: 'events:write',
      audience: 'https://receiver.example.com',
      client_auth: 'basic',
    });
    const answers = JSON.stringify([
      shown,
      await stack.client.get(`/v1/subscriptions?tenant_id=${tenantId}`),
      await stack.client.get(`/v1/deliveries/${deliveryIds[0]}`),
      await stack.client.post(`/v1/subscriptions/${id}/test`, { event_type: 'user.updated' }, 200),
    ]);
    const metrics = (
      await Promise.all(
        [`${stack.workerUrl}/metrics`, `${stack.baseUrl}/metrics`].map(async (at) => (await fetch(at)).text()),
      )
    ).join('');
    const dump = await databaseDump();
    const spans = await eventually(
      () =>
        collector.spans.some((span) => span.service === 'intelliauth-webhooks-worker') &&
        JSON.stringify(collector.spans),
      { timeout: 10_000, description: "the second worker's spans" },
    );
    for (const secret of [clientSecret, ...tokens.tokens()])
      for (const [where, text] of [
        ['answers', answers],
        ['second worker log', secondWorker.output],
        ['metrics', metrics],
        ['spans', spans],
        ['database', dump],
      ])
        expect({ where, found: text.includes(secret) }).toEqual({ where, found: false });
  });

  it('fetches a new token once the last one is about to expire', async () => {
    tokens.lifetimeS = 2;
    const receiver = guardedReceiver();
    const { tenantId } = await oauthSubscription(receiver, 'body');
    await deliveryIn(stack.client, (await publish(stack.client, tenantId)).deliveries[0].id, 'delivered');
    expect(tokens.requests).toHaveLength(1);
    expect(tokens.requests[0].form.get('client_secret')).toBe(clientSecret);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    await deliveryIn(stack.client, (await publish(stack.client, tenantId)).deliveries[0].id, 'delivered');
    expect(tokens.requests).toHaveLength(2);
  });

  it('on a 401 fetches a new token once and sends again; a receiver that keeps refusing is retried on schedule', async () => {
    const receiver = guardedReceiver();
    const { tenantId } = await oauthSubscription(receiver);
    await deliveryIn(stack.client, (await publish(stack.client, tenantId)).deliveries[0].id, 'delivered');
    tokens.revokeAll();
    const renewed = (await publish(stack.client, tenantId)).deliveries[0].id;
    const delivered = await deliveryIn(stack.client, renewed, 'delivered');
    expect(delivered.attempt_count).toBe(1);
    expect(tokens.requests).toHaveLength(2);

    receiver.respondWith(() => ({ status: 401 }));
    const refused = (await publish(stack.client, tenantId)).deliveries[0].id;
    await eventually(async () => (await attemptsOf(refused)).length >= 2, {
      timeout: 20_000,
      description: 'two refused attempts',
    });
    const attempts = await attemptsOf(refused);
    expect(attempts.slice(0, 2).map((attempt) => attempt.status_code)).toEqual([401, 401]);
    // Each attempt: its held token, refused; then a token no one has seen refused, refused too. Two workers share
    // the tokens, so an attempt whose worker held an older token takes the one the other fetched: at least one new
    // token, never more than one per refused attempt.
    const fetchedSince = tokens.requests.length - 2;
    expect(fetchedSince).toBeGreaterThanOrEqual(1);
    // At most one more than the attempts recorded: the attempt in flight may have fetched its own already.
    expect(fetchedSince).toBeLessThanOrEqual((await attemptsOf(refused)).length + 1);
  });

  it('fails the attempt with oauth_token_failed and the status when the token endpoint fails, then retries', async () => {
    tokens.failWith = 503;
    const receiver = guardedReceiver();
    const { tenantId } = await oauthSubscription(receiver);
    const deliveryId = (await publish(stack.client, tenantId)).deliveries[0].id;
    await eventually(async () => (await attemptsOf(deliveryId)).length >= 1, {
      timeout: 20_000,
      description: 'the first attempt',
    });
    expect((await attemptsOf(deliveryId))[0]).toMatchObject({
      status_code: null,
      error: 'oauth_token_failed: 503 temporarily_unavailable',
    });
    expect(receiver.requests).toHaveLength(0);
    tokens.failWith = null;
    await deliveryIn(stack.client, deliveryId, 'delivered');
    expect(receiver.requests).toHaveLength(1);
  });

  it('refuses a token URL the outbound rules refuse', async () => {
    const refused = await stack.request('POST', '/v1/subscriptions', {
      tenant_id: uniqueTenant(),
      url: 'https://hooks.example.com/in',
      event_types: ['*'],
      oauth2: { token_url: 'http://169.254.169.254/token', client_id: 'a', client_secret: 'b' },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('refused_url');
  });
});

describe('mutual TLS', () => {
  let server: Server;
  let url: string;
  let accepted = 0;
  const handshakeFailures: string[] = [];

  beforeAll(async () => {
    server = createServer(
      {
        key: pki.server.privateKey,
        cert: pki.server.certificate,
        ca: pki.ca,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        req.resume();
        req.on('end', () => {
          accepted += 1;
          res.writeHead(200).end('ok');
        });
      },
    );
    server.on('tlsClientError', (error) => handshakeFailures.push(error.message));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('presents the client certificate: accepted with the right one, shown by subject, issuer and expiry', async () => {
    const { tenantId, id } = await subscribe(stack.client, url, {
      tls_client: { certificate: pki.client.certificate, private_key: pki.client.privateKey, ca: pki.ca },
    });
    const shown = await stack.client.get(`/v1/subscriptions/${id}`);
    expect(shown.tls_client).toEqual({
      subject: 'O=IntelliAuth, CN=webhooks client',
      issuer: 'CN=Receiver Test CA',
      expires_at: expect.any(String),
      ca: true,
    });
    expect(Date.parse(shown.tls_client.expires_at)).toBeGreaterThan(Date.now() + 86_400_000);
    await deliveryIn(stack.client, (await publish(stack.client, tenantId)).deliveries[0].id, 'delivered');
    expect(
      (await stack.client.post(`/v1/subscriptions/${id}/test`, { event_type: 'user.updated' }, 200)).delivered,
    ).toBe(true);
    expect(accepted).toBe(2);
    const privateKeyBody = pki.client.privateKey.split('\n')[1];
    expect(JSON.stringify(shown)).not.toContain(privateKeyBody);
    expect(await databaseDump()).not.toContain(privateKeyBody);
  });

  it.each([
    ['no certificate', () => ({ ca: pki.ca })],
    [
      'a certificate the receiver does not trust',
      () => ({ certificate: pki.stranger.certificate, private_key: pki.stranger.privateKey, ca: pki.ca }),
    ],
  ])('is refused with %s, recorded as a TLS failure', async (_case, tlsClient) => {
    const before = accepted;
    const { tenantId } = await subscribe(stack.client, url, { tls_client: tlsClient() });
    const deliveryId = (await publish(stack.client, tenantId)).deliveries[0].id;
    await eventually(async () => (await attemptsOf(deliveryId)).length >= 1, {
      timeout: 20_000,
      description: 'the first attempt',
    });
    const [attempt] = await attemptsOf(deliveryId);
    expect(attempt.status_code).toBeNull();
    expect(attempt.error).toMatch(/^TLS error/);
    expect(accepted).toBe(before);
  });

  it('warns the tenant, once per certificate, that a client certificate expires within 14 days', async () => {
    const warned = TestReceiver.answering(200);
    const { tenantId, id } = await subscribe(stack.client, url, {
      tls_client: { certificate: pki.client.certificate, private_key: pki.client.privateKey, ca: pki.ca },
    });
    await subscribe(stack.client, await stack.startReceiver(warned), {
      tenantId,
      eventTypes: ['webhook.certificate.expiring'],
    });
    const expiry = new CertificateExpiryService(
      new ClientCertificatesRepository(pool),
      new OperationalEvents(
        new EventsRepository(pool),
        new SubscriptionsRepository(pool, SecretBox.parse(testMasterKeys())),
        stack.config.platformTenantId,
      ),
    );
    expect(await expiry.warnOfExpiring()).toBeGreaterThanOrEqual(1);
    expect(await expiry.warnOfExpiring()).toBe(0);
    const warning = await eventually(() => warned.requests[0], { timeout: 20_000, description: 'the warning' });
    expect(JSON.parse(warning.body)).toMatchObject({
      event_type: 'webhook.certificate.expiring',
      tenant: { id: tenantId },
      data: {
        subscription: { id },
        certificate: { subject: 'O=IntelliAuth, CN=webhooks client', issuer: 'CN=Receiver Test CA' },
      },
    });
  });

  it('refuses a key that is not the certificate’s, and an expired or unreadable certificate', async () => {
    const refused = async (tlsClient: object) =>
      (
        await stack.request('POST', '/v1/subscriptions', {
          tenant_id: uniqueTenant(),
          url,
          event_types: ['*'],
          tls_client: tlsClient,
        })
      ).body.error;
    expect(await refused({ certificate: pki.client.certificate, private_key: pki.stranger.privateKey })).toMatchObject({
      code: 'invalid_tls_client',
      details: [{ field: 'tls_client.private_key' }],
    });
    expect(await refused({ certificate: 'not a certificate', private_key: pki.client.privateKey })).toMatchObject({
      code: 'invalid_tls_client',
      details: [{ field: 'tls_client.certificate' }],
    });
    expect(await refused({ certificate: pki.client.certificate })).toMatchObject({ code: 'invalid_tls_client' });
  });
});
