import { loadConfig } from '../../libs/config/config';
import { createIsolatedDatabase, uniqueTenant } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { deliveryIn } from '../helpers/fixtures';
import { Scrape } from '../helpers/metrics';
import { TestReceiver } from '../helpers/receiver';
import { Stack, startStack } from '../helpers/stack';

/** One retry 300 ms after the first attempt, then a dead letter: a delivery, a retry and a dead letter in seconds. */
const QUICK_POLICY = { retryScheduleMs: [0, 300], attemptTimeoutMs: 2_000, ttlMs: 86_400_000 };

let stack: Stack;
let database: Awaited<ReturnType<typeof createIsolatedDatabase>>;

beforeAll(async () => {
  // The api's gauges count the whole database: a database of its own, so they show this suite's run only.
  database = await createIsolatedDatabase('iaw_observability');
  const { clientLimits } = loadConfig({});
  // The api reads its gauges in the background: often here, so they show the run's end soon after it.
  stack = await startStack(QUICK_POLICY, {
    config: { databaseUrl: database.url, clientLimits: { ...clientLimits, gaugesRefreshMs: 200 } },
  });
});
afterAll(async () => {
  await stack?.stop();
  await database?.drop();
});

/** Counter movements between two scrapes of the same endpoint. */
function moved(before: Scrape, after: Scrape) {
  return (name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels);
}

describe('metrics', () => {
  it('count on both endpoints exactly what a short real run did: publishes, attempts, a retry, a delivery and a dead letter', async () => {
    const tenantId = uniqueTenant();
    const receivers = {
      delivered: TestReceiver.answering(200),
      retried: TestReceiver.answering(500, 200),
      deadLettered: TestReceiver.answering(500),
    };
    const subscriptions: Record<string, string> = {};
    for (const [name, receiver] of Object.entries(receivers)) {
      const url = await stack.startReceiver(receiver);
      // One subscription per event type, so each event has exactly one delivery.
      const eventType = { delivered: 'user.signed_up', retried: 'user.updated', deadLettered: 'user.deleted' }[name]!;
      subscriptions[name] = (
        await stack.request('POST', '/v1/subscriptions', { tenant_id: tenantId, url, event_types: [eventType] })
      ).body.id;
    }
    const api0 = await Scrape.of(stack.baseUrl);
    const worker0 = await Scrape.of(stack.workerUrl!);

    const deliveryIds: string[] = [];
    for (const eventType of ['user.signed_up', 'user.updated', 'user.deleted']) {
      const published = await stack.request('POST', '/v1/events', {
        event_id: `evt_metrics_${tenantId}_${eventType.replace('.', '_')}`,
        event_type: eventType,
        tenant: { id: tenantId },
        data: { user: { id: 'usr_1' } },
      });
      expect(published.status).toBe(202);
      deliveryIds.push(published.body.deliveries[0].id);
    }
    const replay = await stack.request('POST', '/v1/events', {
      event_id: `evt_metrics_${tenantId}_user_signed_up`,
      event_type: 'user.signed_up',
      tenant: { id: tenantId },
      data: { user: { id: 'usr_1' } },
    });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(
      (await stack.request('POST', '/v1/events', { event_type: 'user.nonsense', tenant: { id: tenantId }, data: {} }))
        .body.error.code,
    ).toBe('unknown_event_type');
    expect((await stack.request('POST', '/v1/events', { event_type: 'user.signed_up' }, { apiKey: null })).status).toBe(
      401,
    );
    await deliveryIn(stack.client, deliveryIds[0], 'delivered');
    await deliveryIn(stack.client, deliveryIds[1], 'delivered');
    await deliveryIn(stack.client, deliveryIds[2], 'dead_lettered');
    expect(
      (
        await stack.request('POST', `/v1/subscriptions/${subscriptions.deadLettered}/disable`, {
          reason: 'receiver down',
        })
      ).status,
    ).toBe(200);

    const api = moved(api0, await Scrape.of(stack.baseUrl));
    const worker = moved(worker0, await Scrape.of(stack.workerUrl!));
    expect(api('webhook_events_published_total', { transport: 'rest', outcome: 'accepted' })).toBe(3);
    expect(api('webhook_events_published_total', { transport: 'rest', outcome: 'replayed' })).toBe(1);
    expect(
      api('webhook_events_published_total', {
        transport: 'rest',
        outcome: 'rejected',
        error_code: 'unknown_event_type',
      }),
    ).toBe(1);
    expect(
      api('webhook_events_published_total', { transport: 'rest', outcome: 'rejected', error_code: 'unauthorized' }),
    ).toBe(1);
    expect(api('webhook_publish_duration_seconds_count', { transport: 'rest' })).toBe(6);
    const gauges = await eventually(
      async () => {
        const gauge = moved(api0, await Scrape.of(stack.baseUrl));
        return {
          deadLettersWaiting: gauge('webhook_dead_letters_waiting'),
          outboxBacklog: gauge('webhook_outbox_backlog'),
          disabledByOperator: gauge('webhook_subscriptions_disabled', { reason_class: 'operator' }),
        };
      },
      {
        timeout: 10_000,
        description: 'a gauge refresh after the disable',
        until: (read) => read.disabledByOperator === 1,
      },
    );
    expect(gauges).toEqual({ deadLettersWaiting: 1, outboxBacklog: 0, disabledByOperator: 1 });

    expect(
      worker('webhook_attempts_total', { event_type: 'user.signed_up', outcome: 'delivered', status_class: '2xx' }),
    ).toBe(1);
    expect(
      worker('webhook_attempts_total', { event_type: 'user.updated', outcome: 'failed', status_class: '5xx' }),
    ).toBe(1);
    expect(
      worker('webhook_attempts_total', { event_type: 'user.updated', outcome: 'delivered', status_class: '2xx' }),
    ).toBe(1);
    expect(
      worker('webhook_attempts_total', { event_type: 'user.deleted', outcome: 'failed', status_class: '5xx' }),
    ).toBe(2);
    expect(worker('webhook_attempts_total')).toBe(5);
    expect(worker('webhook_attempt_duration_seconds_count')).toBe(5);
    expect(worker('webhook_first_attempt_latency_seconds_count')).toBe(3);
    expect(worker('webhook_deliveries_ended_total', { status: 'delivered' })).toBe(2);
    expect(worker('webhook_deliveries_ended_total', { status: 'dead_lettered', reason: 'exhausted' })).toBe(1);
    expect(worker('webhook_deliveries_ended_total')).toBe(3);
    expect(
      worker('webhook_outbox_starts_total', { outcome: 'eager' }) +
        worker('webhook_outbox_starts_total', { outcome: 'normal' }),
    ).toBe(3);
    expect(worker('webhook_outbox_starts_total', { outcome: 'failed' })).toBe(0);
  });

  it("count the attempts a subscription's pace held back, each one a throttle wait in its workflow", async () => {
    const tenantId = uniqueTenant();
    const url = await stack.startReceiver(new TestReceiver(() => ({ status: 200, delayMs: 400 })));
    await stack.request('POST', '/v1/subscriptions', {
      tenant_id: tenantId,
      url,
      event_types: ['user.updated'],
      // The pace is kept at the attempt (max_in_flight is kept in the outbox, where nothing waits on a timer).
      max_per_second: 1,
    });
    const before = await Scrape.of(stack.workerUrl!);
    const ids: string[] = [];
    for (let n = 0; n < 3; n++)
      ids.push(
        (
          await stack.request('POST', '/v1/events', {
            event_type: 'user.updated',
            tenant: { id: tenantId },
            data: { user: { id: 'usr_1' } },
          })
        ).body.deliveries[0].id,
      );
    for (const id of ids) await deliveryIn(stack.client, id, 'delivered');
    const throttled = moved(before, await Scrape.of(stack.workerUrl!))('webhook_attempts_throttled_total', {
      event_type: 'user.updated',
    });
    let waits = 0;
    for (const id of ids) {
      const delivery = (await stack.request('GET', `/v1/deliveries/${id}`)).body;
      const history = await stack.temporal.workflow
        .getHandle(`delivery:${delivery.event_id}:${delivery.subscription_id}`)
        .fetchHistory();
      waits += (history.events ?? []).filter((event) => event.timerStartedEventAttributes).length;
    }
    // Three deliveries published at once, one attempt a second: the later ones waited at least once.
    expect(waits).toBeGreaterThan(0);
    expect(throttled).toBe(waits);
  });

  it('serve the outbox backlog and its age, and process metrics, in a form a Prometheus parser reads', async () => {
    const api = await Scrape.of(stack.baseUrl);
    expect(api.family('webhook_outbox_backlog')).toMatchObject({ type: 'gauge' });
    expect(api.family('webhook_outbox_oldest_age_seconds')).toMatchObject({ type: 'gauge' });
    // Nothing waits for a start once the run above is delivered: no backlog, no age.
    expect(api.value('webhook_outbox_oldest_age_seconds') === 0).toBe(api.value('webhook_outbox_backlog') === 0);
    expect(api.family('webhook_publish_duration_seconds')).toMatchObject({ type: 'histogram' });
    expect(api.family('process_cpu_seconds')).toMatchObject({ type: 'counter' });
    const worker = await Scrape.of(stack.workerUrl!);
    expect(worker.family('webhook_attempt_duration_seconds')).toMatchObject({ type: 'histogram' });
    expect(worker.family('nodejs_heap_size_used_bytes')).toMatchObject({ type: 'gauge' });
    // No label of any family carries a tenant, subscription or delivery id.
    const labelNames = [...api.families, ...worker.families].flatMap((family) =>
      family.samples.flatMap((sample) => Object.keys(sample.labels)),
    );
    expect(labelNames.filter((name) => /tenant|subscription|delivery|event_id/.test(name))).toEqual([]);
  });
});

describe('health', () => {
  it('answers liveness and readiness on the api and the worker', async () => {
    expect(await (await fetch(`${stack.baseUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${stack.baseUrl}/readyz`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({
      status: 200,
      body: { status: 'ready', checks: { postgres: 'ok', temporal: 'ok' } },
    });
    expect(await (await fetch(`${stack.workerUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    const workerReady = await fetch(`${stack.workerUrl}/readyz`);
    expect({ status: workerReady.status, body: await workerReady.json() }).toEqual({
      status: 200,
      body: { status: 'ready', checks: { temporal_worker: 'RUNNING', postgres: 'ok' } },
    });
    expect((await fetch(`${stack.workerUrl}/nothing`)).status).toBe(404);
  });
});
