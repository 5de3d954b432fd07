import { freePort } from '../../tools/embedded/free-port';
import { Stack, startStack, WAITING_POLICY } from '../helpers/stack';

/** Readiness names the part that is down: here Postgres, which the api was started without. */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack(WAITING_POLICY, {
    worker: false,
    config: { databaseUrl: `postgres://postgres:postgres@127.0.0.1:${await freePort()}/webhooks` },
  });
});
afterAll(() => stack?.stop());

describe('readiness', () => {
  it('answers 503 naming Postgres while Postgres is unreachable, and stays alive for liveness', async () => {
    const ready = await fetch(`${stack.baseUrl}/readyz`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({
      status: 503,
      body: {
        status: 'not_ready',
        checks: { postgres: expect.stringMatching(/^failed: .*ECONNREFUSED/), temporal: 'ok' },
      },
    });
    expect((await fetch(`${stack.baseUrl}/healthz`)).status).toBe(200);
  });
});
