import { Pool } from 'pg';
import { testPool } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { deliveryIn, publishTo } from '../helpers/fixtures';
import { TestReceiver } from '../helpers/receiver';
import { Stack, startStack } from '../helpers/stack';

/** Waits long enough that only an operator's signal moves a delivery on within the test. */
const SLOW_POLICY = { retryScheduleMs: [0, 3_600_000, 3_600_000], attemptTimeoutMs: 2_000, ttlMs: 86_400_000 };

let stack: Stack;
let pool: Pool;

beforeAll(async () => {
  stack = await startStack(SLOW_POLICY);
  pool = testPool();
});
afterAll(async () => {
  await stack?.stop();
  await pool?.end();
});

const BRUTE_FORCE = { event_type: 'security.brute_force_detected', data: { ip: '203.0.113.9' } };

describe('operator actions through the API', () => {
  it('cancels a delivery waiting for its retry', async () => {
    const receiver = TestReceiver.answering(500);
    const { deliveryId } = await publishTo(stack, receiver, BRUTE_FORCE);
    const waiting = await deliveryIn(stack.client, deliveryId, 'retry_scheduled');
    expect(new Date(waiting.next_attempt_at).getTime()).toBeGreaterThan(Date.now() + 3_000_000);

    const cancel = await stack.request('POST', `/v1/deliveries/${deliveryId}/cancel`, { reason: 'tenant offboarded' });
    expect(cancel.status).toBe(202);
    const cancelled = await deliveryIn(stack.client, deliveryId, 'cancelled');
    expect(cancelled.failure_reason).toBe('cancelled: tenant offboarded');
    expect(cancelled.next_attempt_at).toBeNull();
    expect(receiver.requests).toHaveLength(1);

    const again = await stack.request('POST', `/v1/deliveries/${deliveryId}/cancel`, {});
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('delivery_not_active');
  });

  it('retries now, dead-letters after the last attempt, then a redrive delivers under the same workflow id', async () => {
    const receiver = TestReceiver.answering(500);
    const { tenantId, deliveryId } = await publishTo(stack, receiver, BRUTE_FORCE);
    for (let attempt = 1; attempt < SLOW_POLICY.retryScheduleMs.length; attempt++) {
      await eventually(
        () => stack.client.get<{ status: string; attempt_count: number }>(`/v1/deliveries/${deliveryId}`),
        {
          timeout: 20_000,
          description: `attempt ${attempt} recorded`,
          until: (d) => d.status === 'retry_scheduled' && d.attempt_count === attempt,
        },
      );
      expect((await stack.request('POST', `/v1/deliveries/${deliveryId}/retry`)).status).toBe(202);
    }
    const dead = await deliveryIn(stack.client, deliveryId, 'dead_lettered');
    expect(dead).toMatchObject({ attempt_count: 3, failure_reason: 'exhausted', dead_lettered_at: expect.any(String) });
    expect((await stack.request('POST', `/v1/deliveries/${deliveryId}/retry`)).body.error.code).toBe(
      'delivery_not_active',
    );

    const letters = await stack.request('GET', `/v1/dead-letters?tenant_id=${tenantId}`);
    expect(letters.body.data.map((d: { id: string }) => d.id)).toEqual([deliveryId]);

    receiver.respondWith(() => ({ status: 200 }));
    // At once: the run that dead-lettered it may not have closed yet, and the redrive waits for that.
    const redrive = await stack.request('POST', `/v1/dead-letters/${deliveryId}/redrive`);
    expect(redrive).toMatchObject({ status: 202, body: { id: deliveryId, status: 'pending' } });
    const delivered = await deliveryIn(stack.client, deliveryId, 'delivered');
    expect(delivered).toMatchObject({ attempt_count: 4, redrive_count: 1, failure_reason: null });
    expect(receiver.requests.map((r) => r.headers['x-intelliauth-delivery-attempt'])).toEqual(['1', '2', '3', '4']);
    expect(new Set(receiver.requests.map((r) => r.headers['x-intelliauth-event-id'])).size).toBe(1);

    expect((await stack.request('GET', `/v1/dead-letters?tenant_id=${tenantId}`)).body.data).toEqual([]);
    const twice = await stack.request('POST', `/v1/dead-letters/${deliveryId}/redrive`);
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('not_dead_lettered');
  });

  it('redrives a dead letter whose run is still closing once it closes, and refuses one whose run stays open', async () => {
    // The row says dead_lettered while its run is still open: the window between the activity that records the dead
    // letter and the workflow's close, here held open by a run waiting on an hour-long retry.
    const markDeadLettered = (id: string) =>
      pool.query(`UPDATE deliveries SET status = 'dead_lettered', failure_reason = 'exhausted' WHERE id = $1::text`, [
        id,
      ]);
    const closing = await publishTo(stack, TestReceiver.answering(500), BRUTE_FORCE);
    await deliveryIn(stack.client, closing.deliveryId, 'retry_scheduled');
    await markDeadLettered(closing.deliveryId);
    const workflowId = (
      await pool.query<{ workflow_id: string }>(`SELECT workflow_id FROM deliveries WHERE id = $1::text`, [
        closing.deliveryId,
      ])
    ).rows[0].workflow_id;
    setTimeout(() => void stack.temporal.workflow.getHandle(workflowId).terminate('closing run'), 1_000);
    const redriven = await stack.request('POST', `/v1/dead-letters/${closing.deliveryId}/redrive`);
    expect(redriven).toMatchObject({ status: 202, body: { status: 'pending' } });
    expect((await stack.temporal.workflow.getHandle(workflowId).describe()).status.name).toBe('RUNNING');

    const open = await publishTo(stack, TestReceiver.answering(500), BRUTE_FORCE);
    await deliveryIn(stack.client, open.deliveryId, 'retry_scheduled');
    await markDeadLettered(open.deliveryId);
    const refused = await stack.request('POST', `/v1/dead-letters/${open.deliveryId}/redrive`);
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'delivery_still_running' } } });
    expect(await stack.client.get(`/v1/deliveries/${open.deliveryId}`)).toMatchObject({
      status: 'dead_lettered',
      redrive_count: 0,
    });
  });

  it('obeys signals sent through the Temporal client as the operator section of docs/operations.md says', async () => {
    const receiver = TestReceiver.answering(500, 200);
    const { tenantId, deliveryId } = await publishTo(stack, receiver, BRUTE_FORCE);
    await deliveryIn(stack.client, deliveryId, 'retry_scheduled');
    const delivery = (await stack.request('GET', `/v1/deliveries/${deliveryId}`)).body;
    const workflowId = `delivery:${delivery.event_id}:${delivery.subscription_id}`;

    // Find it by its search attributes, as in the Web UI's list.
    const found = await eventually(
      async () => {
        for await (const execution of stack.temporal.workflow.list({
          query: `TenantId = "${tenantId}" AND DeliveryStatus = "retry_scheduled"`,
        })) {
          if (execution.workflowId === workflowId) return execution;
        }
        return undefined;
      },
      { timeout: 20_000, description: 'the workflow in the visibility list' },
    );
    expect(found.workflowId).toBe(workflowId);

    const handle = stack.temporal.workflow.getHandle(workflowId);
    expect(await handle.query('state')).toMatchObject({
      status: 'retry_scheduled',
      attemptsThisRun: 1,
      lastStatusCode: 500,
    });
    // The Web UI's Stack Trace tab: the worker records no promise stack traces (docs/operations.md).
    await expect(handle.query('__stack_trace')).rejects.toThrow('Workflow stack traces are not enabled on this worker');
    await handle.signal('retryNow');
    await deliveryIn(stack.client, deliveryId, 'delivered');
    expect(receiver.requests).toHaveLength(2);

    const second = await publishTo(stack, TestReceiver.answering(500), BRUTE_FORCE);
    await deliveryIn(stack.client, second.deliveryId, 'retry_scheduled');
    const secondDelivery = (await stack.request('GET', `/v1/deliveries/${second.deliveryId}`)).body;
    await stack.temporal.workflow
      .getHandle(`delivery:${secondDelivery.event_id}:${secondDelivery.subscription_id}`)
      .signal('cancel', { reason: 'receiver retired' });
    expect((await deliveryIn(stack.client, second.deliveryId, 'cancelled')).failure_reason).toBe(
      'cancelled: receiver retired',
    );
  });

  it('answers 404 for operations on unknown ids', async () => {
    for (const path of [
      '/v1/deliveries/whdlv_01ARZ3NDEKTSV4RRFFQ69G5FAV/cancel',
      '/v1/deliveries/whdlv_01ARZ3NDEKTSV4RRFFQ69G5FAV/retry',
      '/v1/dead-letters/whdlv_01ARZ3NDEKTSV4RRFFQ69G5FAV/redrive',
    ]) {
      const answer = await stack.request('POST', path, {});
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toMatch(/_not_found$/);
    }
  });
});
