import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
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
 * Schemathesis against the real api with every check, in two runs:
 * - the fixed seed, on seeded ids: real ids are made first (a waiting delivery, a dead letter, an event,
 *   subscriptions, a tenant key, a portal session, a bulk redrive) and the operations behind ids run on them, so
 *   they answer with real resources too, not only 404s, and a run compares with the last;
 * - a fresh seed each run, on ids schemathesis makes up: values of each id's documented pattern and values that
 *   break it, and real ones found through the document's links, so each run tries data no earlier one did.
 * Both seeds are printed and name the tests; SCHEMATHESIS_SEED=<seed> replays a fresh one and
 * SCHEMATHESIS_MAX_EXAMPLES sets the examples per operation (a soak runs more). The runs' api has no worker and a
 * sender that reaches loopback only, and both stacks use a database of their own: no worker of another suite ever
 * sees the subscriptions and events schemathesis makes up, so their URLs are never contacted.
 */
const FIXED_SEED = 20261101;
const FRESH_SEED = process.env.SCHEMATHESIS_SEED ? Number(process.env.SCHEMATHESIS_SEED) : randomInt(2 ** 31);
const MAX_EXAMPLES = process.env.SCHEMATHESIS_MAX_EXAMPLES ? Number(process.env.SCHEMATHESIS_MAX_EXAMPLES) : 50;

interface SeededIds {
  tenantId: string;
  subscriptionId: string;
  otherSubscriptionId: string;
  tenantKeyId: string;
  portalSessionId: string;
  eventId: string;
  waitingDeliveryId: string;
  deadLetterId: string;
  bulkRedriveId: string;
  replayId: string;
  cursor: string;
}

const receiver = TestReceiver.answering(500);

async function seedIds(stack: Stack): Promise<SeededIds> {
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
  const now = Date.now();
  const replayId = (
    await stack.request('POST', `/v1/subscriptions/${subscriptionId}/replay`, {
      from: new Date(now - 3_600_000).toISOString(),
      to: new Date(now).toISOString(),
    })
  ).body.id;
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
    replayId,
    cursor,
  };
}

const NO_STATEFUL = '[operations.phases.stateful]\nenabled = false\n';

/**
 * schemathesis.toml: the reasons for the expected statuses and, given seeded ids, those ids for the operations
 * that take them. The lists always run from a real cursor: one the API did not issue is a 400 whatever its shape.
 */
function configuration(apiKey: string, cursor: string, ids?: SeededIds): string {
  const operation = (name: string, parameters: Record<string, string> | undefined, extra = '') =>
    [
      `[[operations]]\ninclude-name = "${name}"\n`,
      parameters
        ? `parameters = { ${Object.entries(parameters)
            .map(([key, value]) => `"${key}" = "${value}"`)
            .join(', ')} }\n`
        : '',
      extra,
    ].join('');
  const subscription = ids && { id: ids.subscriptionId };
  const limited = (name: string, parameters: Record<string, string> | undefined, statuses: string[]) =>
    operation(
      name,
      parameters,
      `[operations.checks.positive_data_acceptance]\nexpected-statuses = ${JSON.stringify(ids ? statuses : [...statuses, '404'])}\n`,
    );
  return [
    `headers = { Authorization = "Bearer ${apiKey}" }`,
    // JSON text is UTF-8 (RFC 8259), which a lone surrogate cannot be, and Postgres text cannot hold NUL: the API
    // answers 400 validation_failed to both, as its description says.
    'generation.codec = "utf-8"',
    'generation.allow-x00 = false',
    '',
    // A body over the API's 256 KiB limit (a schema-violating private key or URL can make one) is refused before it
    // is read, with 413 payload_too_large as the operations document: a rejection, which schemathesis's default list
    // for schema-violating data leaves out.
    '[checks.negative_data_rejection]',
    'expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]',
    '',
    // Publish and subscribe do checks that JSON Schema cannot state: occurred_at within the TTL window (422
    // occurred_at_out_of_range), a receiver URL that is http(s) and not a refused address (422 invalid_url,
    // refused_url). Valid-looking data may get those 422s; they are documented on the operations.
    operation(
      'POST /v1/events',
      undefined,
      '[operations.checks.positive_data_acceptance]\nexpected-statuses = ["2xx", "403", "409", "422", "429"]\n',
    ),
    operation(
      'POST /v1/subscriptions',
      undefined,
      '[operations.checks.positive_data_acceptance]\nexpected-statuses = ["2xx", "403", "422"]\n',
    ),
    // A listen session is a subscription: the tenant's subscription quota (422 quota_exceeded) and the catalogue's
    // filters (422 unknown_event_type) hold for it too.
    operation(
      'POST /v1/listen-sessions',
      undefined,
      '[operations.checks.positive_data_acceptance]\nexpected-statuses = ["2xx", "403", "422"]\n',
    ),
    // The long poll waits up to 20 s for a request, past schemathesis's read timeout: it is asked not to wait.
    operation('GET /v1/listen-sessions/{id}/requests', { wait_seconds: '0' }),
    operation(
      'PATCH /v1/subscriptions/{id}',
      subscription,
      '[operations.checks.positive_data_acceptance]\nexpected-statuses = ["2xx", "404", "422"]\n',
    ),
    // Rotations and test sends are limited per minute, live secrets per subscription, key and session creations
    // per tenant: a run of many examples on one subscription or tenant gets the 429 and 422 they document. Made-up
    // ids (no seeded ones) are 404.
    limited('POST /v1/subscriptions/{id}/rotate-secret', subscription, ['2xx', '422', '429']),
    limited('POST /v1/subscriptions/{id}/test', subscription, ['2xx', '422', '429']),
    // A replay's window is judged against the clock, RETENTION and REPLAY_MAX_WINDOW, and replays running at once
    // against the tenant's quota (422s it documents); the run's disable makes it 409 subscription_disabled.
    limited('POST /v1/subscriptions/{id}/replay', subscription, ['2xx', '409', '422']),
    limited('POST /v1/tenants/{tenantId}/api-keys', ids && { tenantId: ids.tenantId }, ['2xx', '422']),
    limited('POST /v1/tenants/{tenantId}/portal-sessions', ids && { tenantId: ids.tenantId }, ['2xx', '422']),
    ...(ids
      ? [
          operation('GET /v1/subscriptions/{id}', subscription),
          operation('GET /v1/subscriptions/{id}/attempt-stats', subscription),
          operation('POST /v1/subscriptions/{id}/disable', subscription),
          operation('POST /v1/subscriptions/{id}/enable', subscription),
          operation('GET /v1/events/{eventId}', { eventId: ids.eventId }),
          operation('GET /v1/deliveries/{id}', { id: ids.waitingDeliveryId }),
          operation('POST /v1/deliveries/{id}/cancel', { id: ids.waitingDeliveryId }),
          operation('POST /v1/deliveries/{id}/retry', { id: ids.waitingDeliveryId }),
          operation('POST /v1/dead-letters/{id}/redrive', { id: ids.deadLetterId }),
          operation('GET /v1/dead-letters/redrives/{id}', { id: ids.bulkRedriveId }),
          operation('POST /v1/deliveries/{id}/resend', { id: ids.deadLetterId }),
          operation('GET /v1/replays/{id}', { id: ids.replayId }),
          operation('GET /v1/tenants/{tenantId}/api-keys', { tenantId: ids.tenantId }),
        ]
      : []),
    // The deletes run in the examples, coverage and fuzzing phases only (on seeded ids: answered 204, then 404): a
    // delete among the stateful phase's steps made a later step of the same scenario find the resource it had
    // created gone, which schemathesis reports as "created resource not found" (ST302).
    operation('DELETE /v1/subscriptions/{id}', ids && { id: ids.otherSubscriptionId }, NO_STATEFUL),
    operation(
      'DELETE /v1/tenants/{tenantId}/api-keys/{keyId}',
      ids && { tenantId: ids.tenantId, keyId: ids.tenantKeyId },
      NO_STATEFUL,
    ),
    operation(
      'DELETE /v1/tenants/{tenantId}/portal-sessions/{sessionId}',
      ids && { tenantId: ids.tenantId, sessionId: ids.portalSessionId },
      NO_STATEFUL,
    ),
    ...['GET /v1/subscriptions', 'GET /v1/deliveries', 'GET /v1/dead-letters', 'GET /v1/operator-actions'].map((name) =>
      operation(name, { cursor }),
    ),
  ].join('\n');
}

function run(command: string, args: string[], cwd: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: {
        ...process.env,
        NO_COLOR: '1',
        SCHEMATHESIS_TELEMETRY: 'false',
        // The hooks module beside this file, imported without leaving a __pycache__ in the tree.
        SCHEMATHESIS_HOOKS: 'schemathesis_hooks',
        PYTHONPATH: __dirname,
        PYTHONDONTWRITEBYTECODE: '1',
      },
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
let seeded: SeededIds;

beforeAll(async () => {
  if (!Number.isSafeInteger(FRESH_SEED) || !Number.isSafeInteger(MAX_EXAMPLES) || MAX_EXAMPLES < 1)
    throw new Error('SCHEMATHESIS_SEED and SCHEMATHESIS_MAX_EXAMPLES must be whole numbers');
  console.log(
    `schemathesis seeds: ${FIXED_SEED} (fixed, seeded ids) and ${FRESH_SEED} (fresh, made-up ids; ` +
      `SCHEMATHESIS_SEED=${FRESH_SEED} replays it), ${MAX_EXAMPLES} examples per operation`,
  );
  dir = mkdtempSync(join(tmpdir(), 'iaw-schemathesis-'));
  database = await createIsolatedDatabase('iaw_contract');
  const config = { databaseUrl: database.url };
  const seeding = await startStack(WAITING_POLICY, { config });
  try {
    seeded = await seedIds(seeding);
  } finally {
    await seeding.stop();
  }
  stack = await startStack(WAITING_POLICY, { worker: false, sender: loopbackOnlySender(), config });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the REST API against its OpenAPI document (schemathesis, every check)', () => {
  it.each([
    { seed: FIXED_SEED, which: 'the fixed seed', onSeededIds: true },
    { seed: FRESH_SEED, which: 'a fresh seed', onSeededIds: false },
  ])(
    'finds no failure with $which, $seed',
    async ({ seed, onSeededIds }) => {
      const configFile = join(dir, `schemathesis-${seed}.toml`);
      writeFileSync(configFile, configuration(stack!.apiKey, seeded.cursor, onSeededIds ? seeded : undefined));
      const junit = join(dir, `junit-${seed}.xml`);
      const { status, output } = await run(
        contractTool('TEST_SCHEMATHESIS'),
        [
          '--config-file',
          configFile,
          'run',
          `${stack!.baseUrl}/docs-json`,
          '--url',
          stack!.baseUrl,
          '--checks',
          'all',
          '--seed',
          String(seed),
          '--max-examples',
          String(MAX_EXAMPLES),
          '--workers',
          '1',
          '--report',
          'junit',
          '--report-junit-path',
          junit,
        ],
        dir,
      );
      // The whole report stays readable after the run; on a failure, the test's message is its FAILURES section.
      writeFileSync(join(tmpdir(), `iaw-schemathesis-${seed}.txt`), output);
      const failures = output.includes('FAILURES')
        ? output.slice(output.indexOf('FAILURES'), output.indexOf('SUMMARY'))
        : '';
      expect({ seed, status, failures }).toEqual({ seed, status: 0, failures: '' });
      expect(readFileSync(junit, 'utf8')).toMatch(/failures="0"/);
    },
    900_000,
  );
});
