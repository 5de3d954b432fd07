import { Pool } from 'pg';
import { DeliveryPolicy } from '../../libs/contracts/delivery-policy';
import { testPool } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { deliveryIn, publish, subscribeReceiver } from '../helpers/fixtures';
import { TestReceiver } from '../helpers/receiver';
import { Stack, startStack } from '../helpers/stack';

/**
 * webhook.subscription.failing against the real stack: once per run of failures, at its first dead letter or once
 * it has lasted SUBSCRIPTION_FAILING_WARN_AFTER, and not again after a recovery and a new failure that stays short.
 */

const DISABLE_AFTER_MS = 120_000;

let pool: Pool;
beforeAll(() => (pool = testPool()));
afterAll(() => pool?.end());

/** The failing warnings stored for a subscription, oldest first. */
async function warningsOf(subscriptionId: string): Promise<any[]> {
  const { rows } = await pool.query<{ id: string; data: any }>(
    `SELECT id, data FROM events WHERE event_type = 'webhook.subscription.failing'
        AND data->'subscription'->>'id' = $1::text ORDER BY received_at`,
    [subscriptionId],
  );
  return rows.map((row) => ({ id: row.id, ...row.data }));
}

const failingSinceOf = async (subscriptionId: string): Promise<Date | null> =>
  (await pool.query(`SELECT failing_since FROM subscriptions WHERE id = $1::text`, [subscriptionId])).rows[0]
    .failing_since;

/** The receiver's next request fails, every later one succeeds: a run of failures that ends at the first retry. */
function failOnceThenDeliver(receiver: TestReceiver): void {
  const from = receiver.requests.length;
  receiver.respondWith((index) => ({ status: index === from ? 500 : 200 }));
}

function withStack(policy: DeliveryPolicy, failingWarning: { afterMs: number; onDeadLetter: boolean }) {
  const holder: { stack?: Stack } = {};
  beforeAll(async () => {
    holder.stack = await startStack(policy, {
      config: { failingWarning, failureDisableAfterMs: DISABLE_AFTER_MS },
    });
  });
  afterAll(() => holder.stack?.stop());
  return () => holder.stack!;
}

describe('warned at the first dead letter of a run of failures', () => {
  const stack = withStack(
    { retryScheduleMs: [0, 300], attemptTimeoutMs: 2_000, ttlMs: 86_400_000 },
    {
      afterMs: 60_000,
      onDeadLetter: true,
    },
  );

  it('fires once per run, with when it will be disabled, and not again after a recovery and a short failure', async () => {
    const receiver = TestReceiver.answering(500);
    const { tenantId, id } = await subscribeReceiver(stack(), receiver);

    const first = (await publish(stack().client, tenantId)).deliveries[0].id;
    await deliveryIn(stack().client, first, 'dead_lettered');
    const since = await failingSinceOf(id);
    const [warning] = await eventually(() => warningsOf(id), {
      timeout: 10_000,
      description: 'the failing warning',
      until: (warnings) => warnings.length > 0,
    });
    expect(warning).toMatchObject({
      id: `evt_wh_failing_${id}_${since!.getTime()}`,
      subscription: { id },
      failing_since: since!.toISOString(),
      reason: 'dead_lettered',
      disables_at: new Date(since!.getTime() + DISABLE_AFTER_MS).toISOString(),
    });
    expect(warning.disables_in_seconds).toBeGreaterThan(0);
    expect(warning.disables_in_seconds).toBeLessThanOrEqual(DISABLE_AFTER_MS / 1000);
    expect((await stack().client.get(`/v1/subscriptions/${id}`)).failing_warning).toEqual({
      failing_since: since!.toISOString(),
      warned_at: expect.any(String),
      disables_at: warning.disables_at,
    });

    // A second dead letter of the same run: no second warning.
    const second = (await publish(stack().client, tenantId)).deliveries[0].id;
    await deliveryIn(stack().client, second, 'dead_lettered');

    // Recovery ends the run; a new failure that succeeds at its retry stays below every threshold.
    receiver.respondWith(() => ({ status: 200 }));
    await deliveryIn(stack().client, (await publish(stack().client, tenantId)).deliveries[0].id, 'delivered');
    expect(await failingSinceOf(id)).toBeNull();
    expect((await stack().client.get(`/v1/subscriptions/${id}`)).failing_warning).toBeNull();
    failOnceThenDeliver(receiver);
    const short = (await publish(stack().client, tenantId)).deliveries[0].id;
    expect(await deliveryIn(stack().client, short, 'delivered')).toMatchObject({ attempt_count: 2 });

    expect(await warningsOf(id)).toHaveLength(1);
  });
});

describe('warned once a run of failures has lasted SUBSCRIPTION_FAILING_WARN_AFTER', () => {
  const stack = withStack(
    { retryScheduleMs: [0, 700, 700, 700], attemptTimeoutMs: 2_000, ttlMs: 86_400_000 },
    {
      afterMs: 1_500,
      onDeadLetter: false,
    },
  );

  it('fires at the first failed attempt past the threshold, once, and none for a run that stays shorter', async () => {
    const receiver = TestReceiver.answering(500);
    const { tenantId, id } = await subscribeReceiver(stack(), receiver);
    const failing = (await publish(stack().client, tenantId)).deliveries[0].id;
    const dead = await deliveryIn(stack().client, failing, 'dead_lettered', 30_000);
    expect(dead.attempt_count).toBe(4);
    const since = await failingSinceOf(id);
    const warnings = await warningsOf(id);
    expect(warnings).toEqual([expect.objectContaining({ reason: 'failing', failing_since: since!.toISOString() })]);
    // Warned at an attempt 1.5 s or more into the run: the fourth (the third starts 1.4 s in).
    const attempts = (await stack().client.get(`/v1/deliveries/${failing}`)).attempts;
    expect(Date.parse(attempts[3].started_at) - since!.getTime()).toBeGreaterThanOrEqual(1_500);

    receiver.respondWith(() => ({ status: 200 }));
    await deliveryIn(stack().client, (await publish(stack().client, tenantId)).deliveries[0].id, 'delivered');
    failOnceThenDeliver(receiver);
    await deliveryIn(stack().client, (await publish(stack().client, tenantId)).deliveries[0].id, 'delivered');
    expect(await warningsOf(id)).toHaveLength(1);
  });
});
