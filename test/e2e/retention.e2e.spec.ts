import { setTimeout as sleep } from 'node:timers/promises';
import { ScheduleNotFoundError } from '@temporalio/client';
import { Pool } from 'pg';
import { RetentionScheduleService, retentionScheduleId } from '../../apps/worker/src/retention-schedule.service';
import { createPool } from '../../libs/db/pool';
import { OnDemandTemporalClient } from '../../libs/temporal/client';
import type { RetentionPurgeResult } from '../../workflows/retention.workflow';
import { createIsolatedDatabase } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { deliveryIn } from '../helpers/fixtures';
import { TestReceiver } from '../helpers/receiver';
import { Stack, startStack, WAITING_POLICY } from '../helpers/stack';

/**
 * The retention purge on the real Postgres and dev server, with short retentions: RETENTION 1 s, dead letters an
 * hour, two rows per batch. The purge deletes every old row of the database, so this suite has a database of its own.
 */
const RETENTION = { retentionMs: 1_000, deadLetterRetentionMs: 3_600_000, purgeIntervalMs: 3_600_000, batchSize: 2 };

let database: Awaited<ReturnType<typeof createIsolatedDatabase>>;
let pool: Pool;
let stack: Stack;

beforeAll(async () => {
  database = await createIsolatedDatabase('iaw_retention');
  pool = createPool(database.url, 3);
  stack = await startStack(WAITING_POLICY, { config: { databaseUrl: database.url, retention: RETENTION } });
});
afterAll(async () => {
  await stack?.temporal.schedule
    .getHandle(retentionScheduleId(stack.config.temporalTaskQueue))
    .delete()
    .catch(() => undefined);
  await stack?.stop();
  await pool?.end();
  await database?.drop();
});

const scheduleId = () => retentionScheduleId(stack.config.temporalTaskQueue);

/** Runs the schedule now (as "Trigger" in the Temporal UI does) and answers what that run purged. */
async function purgeNow(): Promise<RetentionPurgeResult> {
  const handle = stack.temporal.schedule.getHandle(scheduleId());
  const before = (await handle.describe()).info.recentActions.length;
  await handle.trigger();
  const action = await eventually(async () => (await handle.describe()).info.recentActions[before], {
    timeout: 30_000,
    description: 'the triggered purge to start',
  });
  return stack.temporal.workflow.getHandle(action.action.workflow.workflowId).result();
}

async function count(sql: string, params: unknown[]): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(sql, params);
  return rows[0].n;
}

describe('retention purge (Temporal Schedule, real Postgres and dev server)', () => {
  it('creates a schedule operators see, purges ended deliveries, their attempts and then their events in batches, and never an active delivery', async () => {
    const description = await stack.temporal.schedule.getHandle(scheduleId()).describe();
    expect(description.spec.intervals).toEqual([expect.objectContaining({ every: 3_600_000 })]);
    expect(description.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'retentionPurgeWorkflow',
      taskQueue: stack.config.temporalTaskQueue,
    });
    expect(description.state.paused).toBe(false);

    const tenantId = `tnt_retention_${Date.now()}`;
    const ok = new TestReceiver();
    const failing = TestReceiver.answering(500);
    const subscribe = async (receiver: TestReceiver, eventTypes: string[]) => {
      const created = await stack.request('POST', '/v1/subscriptions', {
        tenant_id: tenantId,
        url: await stack.startReceiver(receiver),
        event_types: eventTypes,
      });
      expect(created.status).toBe(201);
      return created.body.id as string;
    };
    await subscribe(ok, ['user.signed_up']);
    await subscribe(failing, ['user.updated']);
    const toDisable = await subscribe(failing, ['user.deleted']);
    const publish = async (eventType: string, data: unknown) => {
      const published = await stack.request('POST', '/v1/events', {
        event_type: eventType,
        tenant: { id: tenantId },
        data,
      });
      expect(published.status).toBe(202);
      return {
        eventId: published.body.event_id as string,
        deliveryId: published.body.deliveries[0]?.id as string | undefined,
      };
    };
    const user = { user: { id: 'usr_1' } };
    const delivered = [
      await publish('user.signed_up', user),
      await publish('user.signed_up', user),
      await publish('user.signed_up', user),
    ];
    const active = await publish('user.updated', user);
    const toCancel = await publish('user.updated', user);
    const deadLetter = await publish('user.deleted', user);
    const unmatched = await publish('application.created', { application: { id: 'app_1' } });
    expect(unmatched.deliveryId).toBeUndefined();

    await Promise.all(delivered.map((d) => deliveryIn(stack.client, d.deliveryId!, 'delivered', 30_000)));
    await deliveryIn(stack.client, active.deliveryId!, 'retry_scheduled', 30_000);
    await deliveryIn(stack.client, toCancel.deliveryId!, 'retry_scheduled', 30_000);
    await deliveryIn(stack.client, deadLetter.deliveryId!, 'retry_scheduled', 30_000);
    expect(
      (await stack.request('POST', `/v1/deliveries/${toCancel.deliveryId}/cancel`, { reason: 'retention test' }))
        .status,
    ).toBe(202);
    expect(
      (await stack.request('POST', `/v1/subscriptions/${toDisable}/disable`, { reason: 'retention test' })).status,
    ).toBe(200);
    await deliveryIn(stack.client, toCancel.deliveryId!, 'cancelled', 30_000);
    await deliveryIn(stack.client, deadLetter.deliveryId!, 'dead_lettered', 30_000);
    // Older than RETENTION (1 s), all of them; the active one's row too, and its event.
    await sleep(1_500);
    await pool.query(`UPDATE deliveries SET updated_at = now() - interval '2 days' WHERE id = $1::text`, [
      active.deliveryId,
    ]);

    // 3 delivered + 1 cancelled in batches of 2; then the 6 events without a delivery left (4, the unmatched one, and
    // the webhook.subscription.disabled of the disable, which no subscription here takes).
    expect(await purgeNow()).toEqual({ deliveries: 4, events: 6 });
    const ids = (list: Array<{ deliveryId?: string }>) => list.map((d) => d.deliveryId);
    expect(
      await count(`SELECT count(*)::int AS n FROM deliveries WHERE id = ANY($1::text[])`, [
        ids([...delivered, toCancel]),
      ]),
    ).toBe(0);
    expect(
      await count(`SELECT count(*)::int AS n FROM delivery_attempts WHERE delivery_id = ANY($1::text[])`, [
        ids([...delivered, toCancel]),
      ]),
    ).toBe(0);
    expect(
      await count(`SELECT count(*)::int AS n FROM events WHERE id = ANY($1::text[])`, [
        [...delivered, toCancel, unmatched].map((d) => d.eventId),
      ]),
    ).toBe(0);
    // The active delivery and the dead letter (an hour's retention) stay, with their attempts and events.
    const kept = await pool.query(`SELECT id, status FROM deliveries WHERE tenant_id = $1::text ORDER BY id`, [
      tenantId,
    ]);
    expect(kept.rows).toEqual(
      expect.arrayContaining([
        { id: active.deliveryId, status: 'retry_scheduled' },
        { id: deadLetter.deliveryId, status: 'dead_lettered' },
      ]),
    );
    expect(kept.rows).toHaveLength(2);
    expect(
      await count(`SELECT count(*)::int AS n FROM delivery_attempts WHERE delivery_id = ANY($1::text[])`, [
        ids([active, deadLetter]),
      ]),
    ).toBe(2);
    expect((await stack.request('GET', `/v1/events/${active.eventId}`)).status).toBe(200);
    expect((await stack.request('GET', `/v1/deliveries/${delivered[0].deliveryId}`)).status).toBe(404);

    // Past DEAD_LETTER_RETENTION, the dead letter goes too, with its attempt and then its event; the active one stays.
    await pool.query(`UPDATE deliveries SET dead_lettered_at = now() - interval '2 hours' WHERE id = $1::text`, [
      deadLetter.deliveryId,
    ]);
    expect(await purgeNow()).toEqual({ deliveries: 1, events: 1 });
    expect((await stack.request('GET', `/v1/dead-letters?tenant_id=${tenantId}`)).body.data).toEqual([]);
    expect(
      await count(`SELECT count(*)::int AS n FROM delivery_attempts WHERE delivery_id = $1::text`, [
        deadLetter.deliveryId,
      ]),
    ).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM events WHERE id = $1::text`, [deadLetter.eventId])).toBe(0);
    expect((await stack.client.get(`/v1/deliveries/${active.deliveryId}`)).status).toBe('retry_scheduled');
    expect(await purgeNow()).toEqual({ deliveries: 0, events: 0 });
  });

  it('is created or updated idempotently by workers starting together, keeps an operator pause, and is deleted when everything is kept', async () => {
    const handle = stack.temporal.schedule.getHandle(scheduleId());
    await handle.pause('paused by an operator');
    const restarted = { ...stack.config, retention: { ...RETENTION, purgeIntervalMs: 7_200_000 } };
    const temporal = new OnDemandTemporalClient(process.env.TEST_TEMPORAL_ADDRESS!, stack.config.temporalNamespace);
    try {
      await Promise.all(
        [1, 2, 3].map(() => new RetentionScheduleService(restarted, temporal).onApplicationBootstrap()),
      );
      const description = await handle.describe();
      expect(description.state).toMatchObject({ paused: true, note: 'paused by an operator' });
      expect(description.spec.intervals).toEqual([expect.objectContaining({ every: 7_200_000 })]);

      const keepEverything = { ...stack.config, retention: { ...RETENTION, retentionMs: 0, deadLetterRetentionMs: 0 } };
      await new RetentionScheduleService(keepEverything, temporal).onApplicationBootstrap();
      await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
      // Starting again with nothing to delete is not an error.
      await new RetentionScheduleService(keepEverything, temporal).onApplicationBootstrap();
    } finally {
      await temporal.close();
    }
  });
});
