import { freePort } from '../../tools/embedded/free-port';
import { publish, subscribe } from '../helpers/fixtures';
import { Stack, startStack, WAITING_POLICY } from '../helpers/stack';

/** Readiness names the part that is down, and liveness stays up. */
describe('readiness', () => {
  let stack: Stack | undefined;
  afterEach(() => stack?.stop());

  it('answers 503 naming Postgres while Postgres is unreachable, and stays alive for liveness', async () => {
    stack = await startStack(WAITING_POLICY, {
      worker: false,
      config: { databaseUrl: `postgres://postgres:postgres@127.0.0.1:${await freePort()}/webhooks` },
    });
    const ready = await fetch(`${stack.baseUrl}/readyz`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({
      status: 503,
      body: {
        status: 'not_ready',
        checks: { postgres: expect.stringMatching(/^failed: .*ECONNREFUSED/), temporal: 'ok' },
      },
    });
    expect((await fetch(`${stack.baseUrl}/healthz`)).status).toBe(200);
    // A publish meanwhile is told to come back, never that it was at fault.
    const published = await stack.client.request('POST', '/v1/events', {
      event_type: 'user.signed_up',
      tenant: { id: 'tnt_readiness' },
      data: { user: { id: 'usr_1', email: 'user@example.com' } },
    });
    expect({
      status: published.status,
      retryAfter: published.headers.get('retry-after'),
      body: published.body,
    }).toEqual({
      status: 503,
      retryAfter: '2',
      body: { error: { code: 'database_unavailable', message: expect.stringContaining('send the request again') } },
    });
  });

  it('answers 503 naming Temporal while its frontend is unreachable, and still accepts publishes', async () => {
    stack = await startStack(WAITING_POLICY, {
      worker: false,
      config: { temporalAddress: `127.0.0.1:${await freePort()}` },
    });
    const ready = await fetch(`${stack.baseUrl}/readyz`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({
      status: 503,
      body: { status: 'not_ready', checks: { postgres: 'ok', temporal: expect.stringMatching(/^failed: /) } },
    });
    // The outbox takes the event: the worker's relay starts its deliveries once Temporal is back.
    const { tenantId } = await subscribe(stack.client, 'http://127.0.0.1:9/hook');
    expect((await publish(stack.client, tenantId)).deliveries).toHaveLength(1);
  });
});
