import { setTimeout as sleep } from 'node:timers/promises';
import { testPool, uniqueTenant } from '../helpers/database';
import { eventOf } from '../helpers/fixtures';
import { Stack, startStack } from '../helpers/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack(
    { retryScheduleMs: [0], attemptTimeoutMs: 1_000, ttlMs: 86_400_000 },
    { worker: false, config: { publishRatePerTenant: 5 } },
  );
});
afterAll(() => stack?.stop());

const publish = (tenantId: string) =>
  stack.request('POST', '/v1/events', eventOf(tenantId, { data: { user: { id: 'u' } } }));

describe('publish rate limit per tenant', () => {
  it('answers 429 with Retry-After over the limit, stores nothing from the refused request, and leaves other tenants alone', async () => {
    const noisy = uniqueTenant();
    const quiet = uniqueTenant();
    const answers = await Promise.all(Array.from({ length: 8 }, () => publish(noisy)));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 202).length).toBeLessThanOrEqual(5);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(3);
    for (const answer of refused) {
      expect(answer.body.error.code).toBe('rate_limited');
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    const pool = testPool();
    try {
      const stored = await pool.query('SELECT count(*)::int AS n FROM events WHERE tenant_id = $1::text', [noisy]);
      expect(stored.rows[0].n).toBe(answers.length - refused.length);
    } finally {
      await pool.end();
    }

    expect((await publish(quiet)).status).toBe(202);

    await sleep(1_100 * Number(refused[0].headers.get('retry-after')));
    expect((await publish(noisy)).status).toBe(202);
  });
});
