import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIsolatedDatabase, uniqueTenant } from '../helpers/database';
import { deliveryIn, publish, subscribe } from '../helpers/fixtures';
import { loopbackOnlySender } from '../helpers/loopback-sender';
import { TestReceiver } from '../helpers/receiver';
import { Stack, startStack, WAITING_POLICY } from '../helpers/stack';
import { contractTool } from './tools';

/**
 * Schemathesis against the real api with every check and a fixed seed. Real ids are seeded first (a waiting
 * delivery, a dead letter, an event, subscriptions, a tenant key, a bulk redrive, a cursor) so the operations
 * behind ids answer with real resources too, not only 404s. The run's api has no worker and a sender that
 * reaches loopback only, and both stacks use a database of their own: no worker of another suite ever sees the
 * subscriptions and events schemathesis makes up, so their URLs are never contacted.
 */
const SEED = 20261101;
const MAX_EXAMPLES = 25;

interface Seeds {
  apiKey: string;
  tenantId: string;
  subscriptionId: string;
  otherSubscriptionId: string;
  tenantKeyId: string;
  portalSessionId: string;
  eventId: string;
  waitingDeliveryId: string;
  deadLetterId: string;
  bulkRedriveId: string;
  cursor: string;
}

const receiver = TestReceiver.answering(500);

async function seed(stack: Stack): Promise<Omit<Seeds, 'apiKey'>> {
  const tenantId = uniqueTenant();
  const url = await stack.startReceiver(receiver);
  const subscribeHere = async () => (await subscribe(stack.client, url, { tenantId, eventTypes: ['user.*'] })).id;

  const otherSubscriptionId = await subscribeHere();
  const doomed = (await publish(stack.client, tenantId)).deliveries[0].id;
  await deliveryIn(stack.client, doomed, 'retry_scheduled', 30_000);
  // Disabling ends the waiting delivery as a dead letter; enabling again takes new events.
  await stack.request('POST', `/v1/subscriptions/${otherSubscriptionId}/disable`, {});
  await deliveryIn(stack.client, doomed, 'dead_lettered', 30_000);
  await stack.request('POST', `/v1/subscriptions/${otherSubscriptionId}/enable`);

  const subscriptionId = await subscribeHere();
  const event = await publish(stack.client, tenantId);
  const waiting = event.deliveries.find((d) => d.subscription_id === subscriptionId)!.id;
  await deliveryIn(stack.client, waiting, 'retry_scheduled', 30_000);

  const tenantKeyId = (await stack.request('POST', `/v1/tenants/${tenantId}/api-keys`, { name: 'schemathesis' })).body
    .id;
  const portalSessionId = (await stack.request('POST', `/v1/tenants/${tenantId}/portal-sessions`)).body.id;
  const bulkRedriveId = (await stack.request('POST', '/v1/dead-letters/redrive', { tenant_id: uniqueTenant() })).body
    .id;
  const cursor = (await stack.request('GET', `/v1/deliveries?tenant_id=${tenantId}&limit=1`)).body.next_cursor;
  return {
    tenantId,
    subscriptionId,
    otherSubscriptionId,
    tenantKeyId,
    portalSessionId,
    eventId: event.eventId,
    waitingDeliveryId: waiting,
    deadLetterId: doomed,
    bulkRedriveId,
    cursor,
  };
}

const NO_STATEFUL = '[operations.phases.stateful]\nenabled = false\n';

/** schemathesis.toml: the seeded ids for the operations that take them, and the reasons for the expected statuses. */
function configuration(seeds: Seeds): string {
  const operation = (name: string, parameters: Record<string, string>, extra = '') =>
    `[[operations]]\ninclude-name = "${name}"\nparameters = { ${Object.entries(parameters)
      .map(([key, value]) => `"${key}" = "${value}"`)
      .join(', ')} }\n${extra}`;
  const subscription = { id: seeds.subscriptionId };
  return [
    `headers = { Authorization = "Bearer ${seeds.apiKey}" }`,
    // JSON text is UTF-8 (RFC 8259), which a lone surrogate cannot be, and Postgres text cannot hold NUL: the API
    // answers 400 validation_failed to both, as its description says.
    'generation.codec = "utf-8"',
    'generation.allow-x00 = false',
    '',
    // A path parameter over 128 characters (maxLength) is refused by the router with 414 path_too_long, which every
    // operation with a path parameter documents; schemathesis's default list of rejections lacks 414.
    '[checks.negative_data_rejection]',
    'expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "414", "415", "422", "428", "429", "5xx"]',
    '',
    // Publish and subscribe do checks that JSON Schema cannot state: occurred_at within the TTL window (422
    // occurred_at_out_of_range), a receiver URL that is http(s) and not a refused address (422 invalid_url,
    // refused_url). Valid-looking data may get those 422s; they are documented on the operations.
    operation(
      'POST /v1/events',
      {},
      '[operations.checks.positive_data_acceptance]\nexpected-statuses = ["2xx", "403", "409", "422", "429"]\n',
    ),
    operation(
      'POST /v1/subscriptions',
      {},
      '[operations.checks.positive_data_acceptance]\nexpected-statuses = ["2xx", "403", "422"]\n',
    ),
    operation(
      'PATCH /v1/subscriptions/{id}',
      subscription,
      '[operations.checks.positive_data_acceptance]\nexpected-statuses = ["2xx", "404", "422"]\n',
    ),
    operation('GET /v1/subscriptions/{id}', subscription),
    operation('GET /v1/subscriptions/{id}/attempt-stats', subscription),
    operation('POST /v1/subscriptions/{id}/disable', subscription),
    operation('POST /v1/subscriptions/{id}/enable', subscription),
    // Rotations and test sends are limited per minute, key and session creations per tenant: a run of many
    // examples on one seeded subscription or tenant gets the 429 and 422 quota_exceeded they document.
    operation(
      'POST /v1/subscriptions/{id}/rotate-secret',
      subscription,
      '[operations.checks.positive_data_acceptance]\nexpected-statuses = ["2xx", "429"]\n',
    ),
    operation(
      'POST /v1/subscriptions/{id}/test',
      subscription,
      '[operations.checks.positive_data_acceptance]\nexpected-statuses = ["2xx", "422", "429"]\n',
    ),
    operation('GET /v1/events/{eventId}', { eventId: seeds.eventId }),
    operation('GET /v1/deliveries/{id}', { id: seeds.waitingDeliveryId }),
    operation('POST /v1/deliveries/{id}/cancel', { id: seeds.waitingDeliveryId }),
    operation('POST /v1/deliveries/{id}/retry', { id: seeds.waitingDeliveryId }),
    operation('POST /v1/dead-letters/{id}/redrive', { id: seeds.deadLetterId }),
    operation('GET /v1/dead-letters/redrives/{id}', { id: seeds.bulkRedriveId }),
    operation(
      'POST /v1/tenants/{tenantId}/api-keys',
      { tenantId: seeds.tenantId },
      '[operations.checks.positive_data_acceptance]\nexpected-statuses = ["2xx", "422"]\n',
    ),
    operation('GET /v1/tenants/{tenantId}/api-keys', { tenantId: seeds.tenantId }),
    operation(
      'POST /v1/tenants/{tenantId}/portal-sessions',
      { tenantId: seeds.tenantId },
      '[operations.checks.positive_data_acceptance]\nexpected-statuses = ["2xx", "422"]\n',
    ),
    // The two deletes run in the examples, coverage and fuzzing phases only, on seeded ids (answered 204, then 404):
    // a delete among the stateful phase's steps made a later step of the same scenario find the resource it had
    // created gone, which schemathesis reports as "created resource not found" (ST302).
    operation('DELETE /v1/subscriptions/{id}', { id: seeds.otherSubscriptionId }, NO_STATEFUL),
    operation(
      'DELETE /v1/tenants/{tenantId}/api-keys/{keyId}',
      { tenantId: seeds.tenantId, keyId: seeds.tenantKeyId },
      NO_STATEFUL,
    ),
    operation(
      'DELETE /v1/tenants/{tenantId}/portal-sessions/{sessionId}',
      { tenantId: seeds.tenantId, sessionId: seeds.portalSessionId },
      NO_STATEFUL,
    ),
    ...['GET /v1/subscriptions', 'GET /v1/deliveries', 'GET /v1/dead-letters', 'GET /v1/operator-actions'].map((name) =>
      operation(name, { cursor: seeds.cursor }),
    ),
  ].join('\n');
}

function run(command: string, args: string[], cwd: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_TELEMETRY: 'false' },
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (status) => resolve({ status, output }));
  });
}

let stack: Stack | undefined;
let dir: string;
let database: { url: string; drop: () => Promise<void> } | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'iaw-schemathesis-'));
  database = await createIsolatedDatabase('iaw_contract');
  const config = { databaseUrl: database.url };
  const seeding = await startStack(WAITING_POLICY, { config });
  let seeds: Omit<Seeds, 'apiKey'>;
  try {
    seeds = await seed(seeding);
  } finally {
    await seeding.stop();
  }
  stack = await startStack(WAITING_POLICY, { worker: false, sender: loopbackOnlySender(), config });
  writeFileSync(join(dir, 'schemathesis.toml'), configuration({ ...seeds, apiKey: stack.apiKey }));
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the REST API against its OpenAPI document (schemathesis, every check)', () => {
  it('finds no failure', async () => {
    const { status, output } = await run(
      contractTool('TEST_SCHEMATHESIS'),
      [
        '--config-file',
        join(dir, 'schemathesis.toml'),
        'run',
        `${stack!.baseUrl}/docs-json`,
        '--url',
        stack!.baseUrl,
        '--checks',
        'all',
        '--seed',
        String(SEED),
        '--max-examples',
        String(MAX_EXAMPLES),
        '--workers',
        '1',
        '--report',
        'junit',
        '--report-junit-path',
        join(dir, 'junit.xml'),
      ],
      dir,
    );
    // The whole report stays readable after the run; on a failure, the test's message is its FAILURES section.
    writeFileSync(join(tmpdir(), 'iaw-schemathesis-last.txt'), output);
    const failures = output.includes('FAILURES')
      ? output.slice(output.indexOf('FAILURES'), output.indexOf('SUMMARY'))
      : '';
    expect({ status, failures }).toEqual({ status: 0, failures: '' });
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toMatch(/failures="0"/);
  }, 900_000);
});
