import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { uniqueTenant } from '../helpers/database';
import { deliveryIn, publish, subscribe } from '../helpers/fixtures';
import { TestReceiver } from '../helpers/receiver';
import { Stack, startStack } from '../helpers/stack';

/** The default schedule's six attempts, half a second apart instead of minutes to hours. */
const SIX_ATTEMPTS = { retryScheduleMs: [0, 500, 500, 500, 500, 500], attemptTimeoutMs: 2_000, ttlMs: 86_400_000 };

let stack: Stack;

beforeAll(async () => {
  stack = await startStack(SIX_ATTEMPTS);
});
afterAll(() => stack?.stop());

/** A subscription of a fresh tenant to a receiver behaving so, and one published event's delivery id. */
async function deliveryTo(receiver: TestReceiver): Promise<string> {
  const tenantId = uniqueTenant();
  await subscribe(stack.client, await stack.startReceiver(receiver), { tenantId });
  return (await publish(stack.client, tenantId)).deliveries[0].id;
}

/** Long enough for a resend to show: the activity's infrastructure retry starts at 1 s. */
const QUIET_MS = 3_000;

describe('receivers whose answers Postgres cannot store as they came (api + worker + Temporal + Postgres)', () => {
  it('a 200 with a NUL in its body is sent once and shown delivered with a readable excerpt', async () => {
    const receiver = new TestReceiver(() => ({ status: 200, body: 'ok\0' }));
    const deliveryId = await deliveryTo(receiver);
    const delivered = await deliveryIn(stack.client, deliveryId, 'delivered', 30_000);
    expect(delivered.attempts).toEqual([
      expect.objectContaining({ attempt: 1, status_code: 200, succeeded: true, response_excerpt: 'ok\uFFFD' }),
    ]);
    await sleep(QUIET_MS);
    expect(receiver.requests).toHaveLength(1);
  });

  it('a gzip answer is sent once, its body summarised', async () => {
    const receiver = new TestReceiver(() => ({
      status: 200,
      headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip' },
      body: gzipSync('received'),
    }));
    const deliveryId = await deliveryTo(receiver);
    const delivered = await deliveryIn(stack.client, deliveryId, 'delivered', 30_000);
    expect(delivered.attempts[0].response_excerpt).toMatch(/^\[binary body: \d+ bytes, .*content-encoding gzip\]$/);
    await sleep(QUIET_MS);
    expect(receiver.requests).toHaveLength(1);
  });

  it('a 500 with a NUL gets exactly the six scheduled attempts, then a dead letter', async () => {
    const receiver = new TestReceiver(() => ({ status: 500, body: 'down\0' }));
    const deliveryId = await deliveryTo(receiver);
    const deadLettered = await deliveryIn(stack.client, deliveryId, 'dead_lettered', 60_000);
    expect(deadLettered.attempt_count).toBe(6);
    expect(deadLettered.attempts.map((a: { attempt: number }) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(deadLettered.attempts.every((a: { response_excerpt: string }) => a.response_excerpt === 'down\uFFFD')).toBe(
      true,
    );
    await sleep(QUIET_MS);
    expect(receiver.requests.map((r) => r.headers['x-intelliauth-delivery-attempt'])).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
    ]);
  });
});
