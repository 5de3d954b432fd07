import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'pg';
import { OutboxRepository } from '../../libs/db/outbox.repository';
import { testPool } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { deadLetter, deliveryIn, subscribeReceiver } from '../helpers/fixtures';
import { TestReceiver } from '../helpers/receiver';
import { Stack, startStack } from '../helpers/stack';

/**
 * What a process dying in the middle of an operator action leaves behind: a redrive claimed but never started is
 * started by the outbox relay, and an action's database change and its audit row are committed together or not at all.
 */

/** One attempt, then a dead letter (exhausted): the fastest way to a dead letter. */
const ONE_ATTEMPT = { retryScheduleMs: [0], attemptTimeoutMs: 2_000, ttlMs: 86_400_000 };

let stack: Stack;
let pool: Pool;
let outbox: OutboxRepository;

beforeAll(async () => {
  stack = await startStack(ONE_ATTEMPT);
  pool = testPool();
  outbox = new OutboxRepository(pool);
});
afterAll(async () => {
  await stack?.stop();
  await pool?.end();
});

/** What a redriver that died right after its claim leaves: the claim (the statement every redrive runs first), no start. */
async function claimAndDie(deliveryId: string): Promise<void> {
  expect(await outbox.claimRedrive(deliveryId, undefined, ['dead_lettered'])).toMatchObject({
    id: deliveryId,
    redrive_count: 1,
  });
}

/** The dead redriver's lease running out, without the test waiting the 30 s it lasts. */
const leasePasses = (deliveryIds: string[]) =>
  pool.query(
    `UPDATE deliveries SET start_claimed_until = now() - interval '1 second' WHERE id = ANY($1::text[]) AND start_claimed_until IS NOT NULL`,
    [deliveryIds],
  );

const auditOf = async (targetId: string) =>
  (await stack.request('GET', `/v1/operator-actions?target_id=${targetId}`)).body.data;

describe('a redrive whose redriver died between its claim and its start', () => {
  it('is started by the outbox relay once the claim has expired, and delivered once (single redrive)', async () => {
    const receiver = TestReceiver.answering(500);
    const { tenantId } = await subscribeReceiver(stack, receiver);
    const deliveryId = await deadLetter(stack.client, tenantId);
    receiver.respondWith(() => ({ status: 200 }));

    await claimAndDie(deliveryId);
    // The claim holds: no relay starts it while the redriver might still be starting it.
    await sleep(2_500);
    expect(receiver.requests).toHaveLength(1);
    expect((await stack.request('GET', `/v1/deliveries/${deliveryId}`)).body).toMatchObject({
      status: 'pending',
      redrive_count: 1,
    });

    await leasePasses([deliveryId]);
    const delivered = await deliveryIn(stack.client, deliveryId, 'delivered', 30_000);
    expect(delivered).toMatchObject({ attempt_count: 2, redrive_count: 1, failure_reason: null });
    expect(receiver.requests.map((r) => r.headers['x-intelliauth-delivery-attempt'])).toEqual(['1', '2']);
    const row = await pool.query(
      `SELECT workflow_started_at, start_claimed_until FROM deliveries WHERE id = $1::text`,
      [deliveryId],
    );
    expect(row.rows[0]).toEqual({ workflow_started_at: expect.any(Date), start_claimed_until: null });
    // A second run under the same workflow id, with the redrive's input (attempt 2, a window from now).
    const workflowId = `delivery:${delivered.event_id}:${delivered.subscription_id}`;
    // Temporal's list (visibility) catches up with the runs a moment after they start.
    const runs = await eventually(
      async () => {
        const listed = new Set<string>();
        for await (const execution of stack.temporal.workflow.list({ query: `WorkflowId = "${workflowId}"` }))
          listed.add(execution.runId);
        return listed.size >= 2 && listed;
      },
      { timeout: 10_000, description: 'both runs in the visibility list' },
    );
    expect(runs.size).toBe(2);
  });

  it('is started by the outbox relay when a bulk redrive ran after the claim: the claimed one counts skipped, all delivered once', async () => {
    const receiver = TestReceiver.answering(500);
    const { tenantId, id: subscriptionId } = await subscribeReceiver(stack, receiver);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await deadLetter(stack.client, tenantId));
    receiver.respondWith(() => ({ status: 200 }));

    // A first try of a batch claimed one and died; the batch's retry (or the next bulk redrive) finds it claimed.
    await claimAndDie(ids[0]);
    const job = await stack.request('POST', '/v1/dead-letters/redrive', {
      tenant_id: tenantId,
      subscription_id: subscriptionId,
    });
    expect(job.status).toBe(202);
    const done = await eventually(
      async () => {
        const status = (await stack.request('GET', `/v1/dead-letters/redrives/${job.body.id}`)).body;
        return status.status === 'completed' ? status : undefined;
      },
      { timeout: 30_000, description: 'bulk redrive to complete' },
    );
    expect(done).toMatchObject({ matched: 2, redriven: 2, skipped: 0, failed: 0 });

    await leasePasses(ids);
    for (const id of ids)
      expect(await deliveryIn(stack.client, id, 'delivered', 30_000)).toMatchObject({
        attempt_count: 2,
        redrive_count: 1,
      });
    // One subscription: one delivery per event.
    const attemptsByEvent = new Map<string, string[]>();
    for (const request of receiver.requests) {
      const id = String(request.headers['x-intelliauth-event-id']);
      attemptsByEvent.set(id, [
        ...(attemptsByEvent.get(id) ?? []),
        String(request.headers['x-intelliauth-delivery-attempt']),
      ]);
    }
    expect([...attemptsByEvent.values()]).toEqual([
      ['1', '2'],
      ['1', '2'],
      ['1', '2'],
    ]);
  });
});

describe('operator actions and their audit rows', () => {
  /** Makes the audit insert fail for one target: the failure "in between" an action and its audit row. */
  async function withFailingAudit(targetId: string, work: () => Promise<void>): Promise<void> {
    const name = `fail_audit_${targetId.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`;
    await pool.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.target_id = '${targetId}' OR NEW.tenant_id = '${targetId}' THEN RAISE EXCEPTION 'audit log unavailable'; END IF; RETURN NEW; END; $$`);
    await pool.query(
      `CREATE TRIGGER ${name} BEFORE INSERT ON operator_actions FOR EACH ROW EXECUTE FUNCTION ${name}()`,
    );
    try {
      await work();
    } finally {
      await pool.query(`DROP TRIGGER ${name} ON operator_actions`);
      await pool.query(`DROP FUNCTION ${name}()`);
    }
  }

  it('leaves neither the change nor its audit row when the audit row cannot be written, and both when it can', async () => {
    const receiver = TestReceiver.answering(500);
    const { tenantId, id: subscriptionId } = await subscribeReceiver(stack, receiver);
    const deliveryId = await deadLetter(stack.client, tenantId);
    const secretsBefore = (
      await pool.query(`SELECT count(*)::int AS n FROM subscription_secrets WHERE subscription_id = $1::text`, [
        subscriptionId,
      ])
    ).rows[0].n;

    await withFailingAudit(subscriptionId, async () => {
      for (const path of ['disable', 'rotate-secret']) {
        const answer = await stack.request('POST', `/v1/subscriptions/${subscriptionId}/${path}`, {});
        expect(answer).toMatchObject({ status: 500, body: { error: { code: 'internal_error' } } });
      }
      expect((await stack.request('DELETE', `/v1/subscriptions/${subscriptionId}`)).status).toBe(500);
    });
    expect((await stack.request('GET', `/v1/subscriptions/${subscriptionId}`)).body).toMatchObject({
      enabled: true,
      disabled_reason: null,
    });
    expect(
      (
        await pool.query(`SELECT count(*)::int AS n FROM subscription_secrets WHERE subscription_id = $1::text`, [
          subscriptionId,
        ])
      ).rows[0].n,
    ).toBe(secretsBefore);

    await withFailingAudit(deliveryId, async () => {
      expect((await stack.request('POST', `/v1/dead-letters/${deliveryId}/redrive`)).status).toBe(500);
    });
    expect((await stack.request('GET', `/v1/deliveries/${deliveryId}`)).body).toMatchObject({
      status: 'dead_lettered',
      redrive_count: 0,
    });

    await withFailingAudit(tenantId, async () => {
      expect((await stack.request('POST', `/v1/tenants/${tenantId}/api-keys`, { name: 'never' })).status).toBe(500);
    });
    expect((await stack.request('GET', `/v1/tenants/${tenantId}/api-keys`)).body.data).toEqual([]);
    expect(await auditOf(subscriptionId)).toEqual([]);
    expect(await auditOf(deliveryId)).toEqual([]);

    // With the audit log back, each action and its row, with what its Temporal half did.
    expect((await stack.request('POST', `/v1/dead-letters/${deliveryId}/redrive`)).status).toBe(202);
    expect(
      (await stack.request('POST', `/v1/subscriptions/${subscriptionId}/disable`, { reason: 'maintenance' })).status,
    ).toBe(200);
    expect(await auditOf(deliveryId)).toEqual([
      expect.objectContaining({
        action: 'dead_letter.redrive',
        details: { previous_status: 'dead_lettered', first_attempt: 2, outcome: 'completed' },
      }),
    ]);
    expect(await auditOf(subscriptionId)).toEqual([
      expect.objectContaining({
        action: 'subscription.disable',
        details: { reason: 'maintenance', outcome: 'completed', waiting_deliveries_stopped: expect.any(Number) },
      }),
    ]);
  });

  it('records a signal it could not deliver as the intent with a failed outcome', async () => {
    const { tenantId } = await subscribeReceiver(stack, TestReceiver.answering(500));
    // A delivery whose row still says it waits while its run has closed (say, terminated from the Temporal UI).
    const deliveryId = await deadLetter(stack.client, tenantId);
    await pool.query(`UPDATE deliveries SET status = 'retry_scheduled' WHERE id = $1::text`, [deliveryId]);

    const answer = await stack.request('POST', `/v1/deliveries/${deliveryId}/retry`);
    expect(answer).toMatchObject({ status: 409, body: { error: { code: 'delivery_not_active' } } });
    expect(await auditOf(deliveryId)).toEqual([
      expect.objectContaining({ action: 'delivery.retry', details: { outcome: 'failed', error: expect.any(String) } }),
    ]);
  });
});
