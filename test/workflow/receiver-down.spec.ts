import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { Pool } from 'pg';
import { createDeliveryActivities } from '../../activities/delivery.activities';
import { ListenSessionsRepository } from '../../libs/db/listen-sessions.repository';
import { ListenHandoff } from '../../libs/outbound/listen-handoff';
import { WebhookSender } from '../../libs/outbound/webhook-sender';
import { DEFAULT_DELIVERY_POLICY } from '../../libs/contracts/delivery-policy';
import { newEventId, newSubscriptionId } from '../../libs/contracts/ids';
import { AttemptsRepository } from '../../libs/db/attempts.repository';
import { DeliveriesRepository } from '../../libs/db/deliveries.repository';
import { OperationalEvents } from '../../libs/operational/operational-event-emitter';
import { EventsRepository } from '../../libs/db/events.repository';
import { OperatorActionsRepository } from '../../libs/db/operator-actions.repository';
import { SubscriptionsRepository } from '../../libs/db/subscriptions.repository';
import { OutboundPolicy } from '../../libs/outbound/address-policy';
import { SecretBox } from '../../libs/secrets/secret-box';
import { generateSigningSecret } from '../../libs/signing/signing';
import { OutboxRepository } from '../../libs/db/outbox.repository';
import { DeadLetterRedriver } from '../../libs/temporal/dead-letter-redriver';
import { DeliverySignals } from '../../libs/temporal/delivery-signals';
import { OutboxRunStarter } from '../../libs/temporal/outbox-run-starter';
import { SubscriptionDisabler } from '../../libs/temporal/subscription-disabler';
import { testMasterKeys, testPool, uniqueTenant } from '../helpers/database';
import { TestReceiver } from '../helpers/receiver';
import { bundleWorkflows, createTimeSkippingEnv } from '../helpers/time-skipping';
import { testAttemptSettings, testTokens } from '../helpers/attempt-settings';

/**
 * A receiver that is down for a while, on the default delivery policy's real schedule (time-skipping server), with the real attempt
 * activity, real HTTP to 127.0.0.1 and the real Postgres: no operator action needed when it comes back in time,
 * and a redrive delivers what it missed when it was down longer than the whole schedule.
 */
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let pool: Pool;
let subscriptions: SubscriptionsRepository;
let deliveries: DeliveriesRepository;
let attempts: AttemptsRepository;
let sender: WebhookSender;
const taskQueue = `receiver-down-${process.pid}`;

beforeAll(async () => {
  [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleWorkflows()]);
  pool = testPool();
  subscriptions = new SubscriptionsRepository(pool, SecretBox.parse(testMasterKeys()));
  deliveries = new DeliveriesRepository(pool);
  attempts = new AttemptsRepository(pool, subscriptions);
  sender = new WebhookSender({ policy: new OutboundPolicy(['127.0.0.1/32']) });
});
afterAll(async () => {
  await sender?.close();
  await pool?.end();
  await env?.teardown();
});

async function scenario(
  receiver: TestReceiver,
  run: (redriver: DeadLetterRedriver, deliveryId: string, workflowId: string) => Promise<void>,
) {
  const url = await receiver.start();
  try {
    const tenantId = uniqueTenant();
    const subscriptionId = newSubscriptionId();
    await subscriptions.create({
      id: subscriptionId,
      tenantId,
      url,
      eventTypes: ['*'],
      description: null,
      signingSecret: generateSigningSecret(),
    });
    const published = await new EventsRepository(pool).publish(
      {
        event_id: newEventId(),
        event_type: 'user.updated',
        occurred_at: new Date(await env.currentTimeMs()).toISOString(),
        tenant: { id: tenantId },
        data: { user: { id: 'u' } },
      },
      'receiver-down',
    );
    if (published.kind !== 'created') throw new Error('expected a new event');
    const outbox = new OutboxRepository(pool);
    const runs = {
      client: { get: async () => env.client },
      taskQueue,
      policy: DEFAULT_DELIVERY_POLICY,
      deliveries,
      outbox,
    };
    const signals = new DeliverySignals(runs);
    const redriver = new DeadLetterRedriver(runs);
    const operational = new OperationalEvents(new EventsRepository(pool), subscriptions, 'tnt_platform');
    const disabler = new SubscriptionDisabler(subscriptions, signals, new OperatorActionsRepository(pool), operational);
    const activities = createDeliveryActivities({
      attempts,
      sender,
      tokens: testTokens(sender, pool),
      disabler,
      operational,
      failureDisableAfterMs: 0,
      listen: new ListenHandoff(new ListenSessionsRepository(pool)),
      ...testAttemptSettings(),
    });
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities,
    });
    const row = (await deliveries.forOperation(published.deliveries[0].id, undefined))!;
    await worker.runUntil(async () => {
      expect(
        await new OutboxRunStarter(
          env.client,
          taskQueue,
          DEFAULT_DELIVERY_POLICY,
          { warn: () => undefined },
          false,
        ).start([{ ...row, redrive_count: 0, trace_parent: null }]),
      ).toMatchObject({ started: [row.id] });
      await run(redriver, row.id, row.workflow_id);
    });
  } finally {
    await receiver.stop();
  }
}

const attemptOf = (request: { headers: Record<string, unknown> }) =>
  Number(request.headers['x-intelliauth-delivery-attempt']);

describe('receiver down (time-skipping, real activity)', () => {
  it('is delivered with no operator action when the receiver returns within the schedule', async () => {
    // Down for attempts 1-3 (the first 36 minutes), back for attempt 4.
    const receiver = new TestReceiver((_i, request) => ({ status: attemptOf(request) < 4 ? 503 : 200 }));
    await scenario(receiver, async (_redriver, deliveryId, workflowId) => {
      expect(await env.client.workflow.getHandle(workflowId).result()).toMatchObject({
        status: 'delivered',
        attemptsThisRun: 4,
      });
      expect(await deliveries.get(deliveryId, undefined)).toMatchObject({ status: 'delivered', attempt_count: 4 });
    });
    expect(receiver.requests.map(attemptOf)).toEqual([1, 2, 3, 4]);
  });

  it('is dead-lettered when the receiver stays down past the whole schedule, and a redrive then delivers it', async () => {
    let up = false;
    const receiver = new TestReceiver(() => ({ status: up ? 200 : 503 }));
    await scenario(receiver, async (redriver, deliveryId, workflowId) => {
      expect(await env.client.workflow.getHandle(workflowId).result()).toMatchObject({
        status: 'dead_lettered',
        failureReason: 'exhausted',
        attemptsThisRun: 6,
      });
      expect(await deliveries.get(deliveryId, undefined)).toMatchObject({
        status: 'dead_lettered',
        failure_reason: 'exhausted',
        attempt_count: 6,
      });
      up = true;
      expect(await redriver.redrive(deliveryId, undefined)).toMatchObject({ kind: 'redriven' });
      expect(await env.client.workflow.getHandle(workflowId).result()).toMatchObject({
        status: 'delivered',
        attemptsThisRun: 1,
      });
      expect(await deliveries.get(deliveryId, undefined)).toMatchObject({
        status: 'delivered',
        attempt_count: 7,
        redrive_count: 1,
      });
    });
    expect(receiver.requests.map(attemptOf)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});
