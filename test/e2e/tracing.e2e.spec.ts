import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../tools/embedded/free-port';
import { READY_MESSAGE } from '../../libs/lifecycle/launcher-channel';
import { TestClient } from '../helpers/client';
import { testDatabaseUrl, testMasterKeys } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { publish, subscribe } from '../helpers/fixtures';
import { CollectedSpan, OtlpCollector, SPAN_KIND } from '../helpers/otlp-collector';
import { TestReceiver } from '../helpers/receiver';

/**
 * Traces through the real processes (the built api and worker, as `npm run start:api` / `start:worker` run them):
 * the OpenTelemetry SDK patches modules as Node loads them, which jest's module registry would bypass.
 */
const ROOT = join(__dirname, '..', '..');

class AppProcess {
  output = '';
  private readonly exited: Promise<unknown>;

  private constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => child.once('exit', resolve));
  }

  static async start(name: 'api' | 'worker', env: Record<string, string>): Promise<AppProcess> {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'apps', name, 'src', 'main.js')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const app = new AppProcess(child);
    await new Promise<void>((resolve, reject) => {
      child.on('message', (message) => message === READY_MESSAGE && resolve());
      child.once('exit', (code) =>
        reject(new Error(`the ${name} exited (${code}) before it was ready:\n${app.output.slice(-4000)}`)),
      );
    });
    return app;
  }

  /** SIGTERM, as a supervisor stops it: the worker drains, and tracing flushes what it has not exported yet. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}

const collector = new OtlpCollector();
const receiver = new TestReceiver();
const apiKey = `tracing-test-key-${process.pid}`;
let env: Record<string, string>;
let apiUrl: string;
let workerEndpoint: string;
/** A receiver URL with tokens in its path and query, as many receivers have; spans keep only its origin. */
let receiverUrl: string;
let receiverOrigin: string;
let api: AppProcess | undefined;
let worker: AppProcess | undefined;

beforeAll(async () => {
  const [endpoint, port, grpcPort, metricsPort, sdkMetricsPort] = await Promise.all([
    collector.start(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  receiverOrigin = new URL(await receiver.start()).origin;
  receiverUrl = receiver.url('/hooks/tok_in_path_8f3a?key=in_query_5c1d');
  apiUrl = `http://127.0.0.1:${port}`;
  workerEndpoint = `http://127.0.0.1:${metricsPort}`;
  env = {
    DATABASE_URL: testDatabaseUrl(),
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS as string,
    TEMPORAL_TASK_QUEUE: `traces-${process.pid}-${Date.now()}`,
    PORT: String(port),
    GRPC_PORT: String(grpcPort),
    WORKER_METRICS_PORT: String(metricsPort),
    WORKER_SDK_METRICS_PORT: String(sdkMetricsPort),
    API_KEYS: apiKey,
    SECRETS_MASTER_KEYS: testMasterKeys(),
    WEBHOOK_ALLOWED_TARGETS: '127.0.0.1/32',
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    // Export within a tenth of a second, not the default five.
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
  [api, worker] = await Promise.all([AppProcess.start('api', env), AppProcess.start('worker', env)]);
}, 180_000);

afterAll(async () => {
  await Promise.all([api?.stop(), worker?.stop()]);
  await Promise.all([receiver.stop(), collector.stop()]);
});

/** Publishes one event to a fresh tenant's subscription and waits until the receiver has it. */
async function publishAndDeliver(): Promise<{ eventId: string; received: TestReceiver['requests'][number] }> {
  const client = new TestClient(apiUrl, apiKey);
  const { tenantId } = await subscribe(client, receiverUrl, { eventTypes: ['user.signed_up'] });
  const { eventId } = await publish(client, tenantId, { event_type: 'user.signed_up' });
  const received = await eventually(
    () => receiver.requests.find((r) => r.headers['x-intelliauth-event-id'] === eventId),
    { timeout: 30_000, description: `the delivery of ${eventId}` },
  );
  return { eventId, received };
}

/** The attempt's outbound POST span and its ancestry up to the publish request's server span, once all are exported. */
async function traceOfDelivery(eventId: string): Promise<{ post: CollectedSpan; chain: CollectedSpan[] }> {
  return eventually(
    () => {
      const run = collector.spans.find(
        (span) =>
          span.name === 'StartWorkflow:deliveryWorkflow' &&
          String(span.attributes.temporalWorkflowId).startsWith(`delivery:${eventId}:`),
      );
      const post =
        run &&
        collector.spans.find(
          (span) =>
            span.kind === SPAN_KIND.client &&
            span.attributes['url.full'] === receiverOrigin &&
            collector.ancestry(span).includes(run),
        );
      if (!post) return undefined;
      const chain = collector.ancestry(post);
      return chain[chain.length - 1].kind === SPAN_KIND.server ? { post, chain } : undefined;
    },
    { timeout: 30_000, description: `the spans of ${eventId}'s delivery` },
  );
}

describe('OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT set; a real OTLP/HTTP collector on 127.0.0.1)', () => {
  it("runs one trace from the publish request through the run's start to the attempt POST, naming only the receiver's origin, with no traceparent sent to the receiver", async () => {
    // Probes and scrapes (the worker's /metrics fetches the Temporal SDK's exporter in turn) make no spans.
    const probes = [
      `${apiUrl}/healthz`,
      `${apiUrl}/readyz`,
      `${apiUrl}/metrics`,
      `${workerEndpoint}/readyz`,
      `${workerEndpoint}/metrics`,
    ];
    for (const probe of probes) expect((await fetch(probe)).status).toBe(200);
    const { eventId, received } = await publishAndDeliver();
    const { post, chain } = await traceOfDelivery(eventId);

    expect(chain.map((span) => [span.service, span.name])).toEqual([
      ['intelliauth-webhooks-worker', 'POST'],
      ['intelliauth-webhooks-worker', 'RunActivity:attemptDelivery'],
      ['intelliauth-webhooks-worker', 'StartWorkflow:deliveryWorkflow'],
      ['intelliauth-webhooks-api', expect.stringMatching(/^POST/)],
    ]);
    const publish = chain[chain.length - 1];
    expect(publish.parentSpanId).toBeNull();
    expect(publish.attributes).toMatchObject({
      'http.method': 'POST',
      'http.target': '/v1/events',
      'http.status_code': 202,
    });
    expect(new Set(chain.map((span) => span.traceId))).toEqual(new Set([publish.traceId]));
    expect(post.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 200 });
    expect(received.path).toBe('/hooks/tok_in_path_8f3a?key=in_query_5c1d');
    expect(post.attributes['url.full']).toBe(receiverOrigin);
    expect(post.attributes).not.toHaveProperty('url.path');
    expect(post.attributes).not.toHaveProperty('url.query');
    const everything = JSON.stringify(collector.spans);
    expect(everything).not.toContain('tok_in_path_8f3a');
    expect(everything).not.toContain('in_query_5c1d');
    // The publish's single statement, traced by the pg instrumentation inside the request.
    expect(collector.spans).toContainEqual(
      expect.objectContaining({
        traceId: publish.traceId,
        parentSpanId: publish.spanId,
        service: 'intelliauth-webhooks-api',
        attributes: expect.objectContaining({ 'db.system': 'postgresql' }),
      }),
    );

    expect(received.headers.traceparent).toBeUndefined();
    expect(received.headers.baggage).toBeUndefined();
    // Ended before the publish, so exported before its spans were.
    expect(
      collector.spans.filter((span) =>
        /\/(healthz|readyz|metrics)$/.test(String(span.attributes['http.target'] ?? span.attributes['url.full'])),
      ),
    ).toEqual([]);
  });

  it('sends the POST span as traceparent when OTEL_PROPAGATE_TO_RECEIVERS=true', async () => {
    await worker?.stop();
    worker = await AppProcess.start('worker', { ...env, OTEL_PROPAGATE_TO_RECEIVERS: 'true' });

    const { eventId, received } = await publishAndDeliver();
    const { post } = await traceOfDelivery(eventId);
    expect(received.headers.traceparent).toBe(`00-${post.traceId}-${post.spanId}-01`);
  });
});
