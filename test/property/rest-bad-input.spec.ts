import fc from 'fast-check';
import { Pool } from 'pg';
import { EVENT_TYPES } from '../../libs/contracts/catalogue';
import { DELIVERY_STATUSES } from '../../libs/contracts/delivery-status';
import { testPool } from '../helpers/database';
import { Stack, startStack } from '../helpers/stack';
import { expectEventsStoredAsSent, expectOnlyAcceptedEventsStored } from '../helpers/stored-events';
import {
  anyText,
  assertProperty,
  badDateText,
  badTenantId,
  checkErrorBody,
  envelopeOf,
  EVENT_MARK,
  eventTypeNearMiss,
  expandDate,
  expandOversize,
  freshTenant,
  hasPollutionKey,
  isStorable,
  Ledger,
  mutate,
  mutationArb,
  obviousEnvelopeProblem,
  oversizeArb,
  percentEncode,
  renderJson,
  asSentOverHttp,
  tagText,
  rawUrlGarbage,
  TENANT_MARK,
  unicodeText,
  UNSTORABLE_STRINGS,
  validEnvelopeArb,
  withFreshTags,
  wrongValue,
} from './support';

/**
 * Property-based bad input against the real REST API (Nest on Fastify, listening on 127.0.0.1, real Postgres):
 * every answer to a malformed request is a 4xx with `{ error: { code, message } }`, never a 5xx, and nothing of a
 * rejected request reaches the database. Valid envelopes are mixed in and must be accepted and stored as sent.
 */

const TTL_MS = 86_400_000;
const BODY_LIMIT = 256 * 1024;

let stack: Stack;
let pool: Pool;
let subscriptionId: string;
const ledger = new Ledger();
const storedAsSent = new Map<string, Record<string, unknown>>();
const acceptedSubscriptions = new Map<string, string>(); // tenant → subscription id
const probedIds = new Set<string>();

beforeAll(async () => {
  stack = await startStack({ retryScheduleMs: [0], attemptTimeoutMs: 1_000, ttlMs: TTL_MS }, { worker: false });
  pool = testPool();
  const created = await stack.request('POST', '/v1/subscriptions', {
    tenant_id: freshTenant(),
    url: 'https://hooks.example.com/property/patch',
    event_types: ['user.*'],
  });
  expect(created.status).toBe(201);
  subscriptionId = created.body.id;
});
afterAll(async () => {
  console.log(`REST bad-input properties: ${ledger.summary()}`);
  await pool?.end();
  await stack?.stop();
});

interface Answer {
  status: number;
  body: unknown;
  text: string;
  contentType: string | null;
}

async function send(
  method: string,
  path: string,
  options: { body?: string | Uint8Array; contentType?: string | null; authorization?: string | null } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  const authorization = options.authorization === undefined ? `Bearer ${stack.apiKey}` : options.authorization;
  if (authorization !== null) headers.authorization = authorization;
  if (options.body !== undefined && options.contentType !== null)
    headers['content-type'] = options.contentType ?? 'application/json';
  const response = await fetch(`${stack.baseUrl}${path}`, { method, headers, body: options.body });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text, contentType: response.headers.get('content-type') };
}

/** The answer must be a 4xx in the API's error shape; returns the error code. */
function expectClientError(answer: Answer, where: string): string {
  if (answer.status < 400 || answer.status > 499)
    throw new Error(`${where}: expected a 4xx, got ${answer.status} ${answer.text.slice(0, 300)}`);
  if (!answer.contentType?.startsWith('application/json'))
    throw new Error(`${where}: the ${answer.status} is not JSON (${answer.contentType}): ${answer.text.slice(0, 300)}`);
  const code = checkErrorBody(answer.body, `${where} (${answer.status})`);
  ledger.count(answer.status, code);
  return code;
}

/** 2xx (counted) or a well-formed 4xx; never anything else. */
function expectSuccessOrClientError(answer: Answer, where: string, success: number[]): boolean {
  if (success.includes(answer.status)) {
    ledger.count(answer.status);
    return true;
  }
  expectClientError(answer, where);
  return false;
}

const jsonContentType = fc.oneof(
  { arbitrary: fc.constant('application/json'), weight: 8 },
  {
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/json;charset=latin1',
      'application/vnd.api+json',
    ),
    weight: 1,
  },
);

// ---------------------------------------------------------------------------------------------------------------

describe('POST /v1/events', () => {
  it('answers mutated envelopes (dropped, retyped, oversized, unicode, prototype keys, deep, bad dates, near-miss types and tenants) with 202 or a clean 4xx', async () => {
    await assertProperty(
      fc.asyncProperty(
        validEnvelopeArb,
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        jsonContentType,
        async (valid, mutations, contentType) => {
          const now = Date.now();
          const tagged = tagText(renderJson(mutate(envelopeOf(valid, now), mutations, now)));
          const { tenantId, eventId } = tagged;
          const text = asSentOverHttp(tagged.text);
          const body = JSON.parse(text) as Record<string, unknown>;
          const answer = await send('POST', '/v1/events', { body: text, contentType });
          const where = `POST /v1/events ${text.slice(0, 300)}`;
          if (Buffer.byteLength(text) > BODY_LIMIT) {
            // A media type the API does not parse is refused as such (415) before its size matters.
            const allowed = contentType.includes('vnd.api') ? [413, 415] : [413];
            if (!allowed.includes(answer.status))
              throw new Error(
                `${where}: a ${Buffer.byteLength(text)}-byte body answered ${answer.status}, not ${allowed.join(' or ')}`,
              );
          }
          if (expectSuccessOrClientError(answer, where, [202])) {
            const problem = contentType.includes('vnd.api')
              ? 'not JSON content'
              : obviousEnvelopeProblem(body, now, TTL_MS);
            if (problem) throw new Error(`${where}: accepted (202) although ${problem}`);
            const result = answer.body as { event_id: string; deliveries: unknown[] };
            if ('event_id' in body && result.event_id !== body.event_id)
              throw new Error(`${where}: answered event_id ${result.event_id}, sent ${String(body.event_id)}`);
            expect(result.deliveries).toEqual([]);
            ledger.acceptedEventIds.add(result.event_id);
          } else {
            ledger.rejectedEventIds.add(eventId);
            ledger.rejectedTenants.add(tenantId);
          }
        },
      ),
      650,
    );
  });

  it('answers prototype-pollution keys, 1e400, lone surrogates and NUL escapes, duplicate keys and broken JSON text with 202 or a clean 4xx', async () => {
    const member = fc.constantFrom(
      '"__proto__":{"polluted":true}',
      '"constructor":{"prototype":{"polluted":true}}',
      '"x_num":1e400',
      '"x_num":-1e400',
      '"x_num":1e-400',
      '"x_num":123456789012345678901234567890',
      '"x_num":-0',
      '"x_text":"\\ud800"',
      '"x_text":"\\udc00\\ud800"',
      '"x_text":"\\u0000"',
      '"\\u0000":1',
      '"x_nan":NaN',
      '"x_undef":undefined',
      '"event_type":"user.teleported"',
      '"event_type":"user.updated"',
      '"tenant":{"id":"tnt MARK"}',
      '"data":null',
      "'single':'quotes'",
      '/* comment */"x_c":1',
      '"x_trailing":1,',
    );
    const textOp = fc.oneof(
      fc.record({
        kind: fc.constant('member' as const),
        where: fc.constantFrom('top-start', 'top-end', 'data', 'tenant'),
        member,
      }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('flip' as const),
        at: fc.nat(),
        char: fc.constantFrom('"', '{', '}', '[', ']', ',', ':', '\\', '\u0000', 'x', ' '),
      }),
      fc.record({
        kind: fc.constant('wrap' as const),
        how: fc.constantFrom('array', 'bom', 'twice', 'string', 'spaces', 'trailing-garbage'),
      }),
    );
    await assertProperty(
      fc.asyncProperty(validEnvelopeArb, fc.array(textOp, { minLength: 1, maxLength: 2 }), async (valid, ops) => {
        const {
          value: envelope,
          tenantId,
          eventId,
        } = withFreshTags<Record<string, unknown>>({ ...envelopeOf(valid), event_id: EVENT_MARK });
        const data = envelope.data as Record<string, unknown>;
        data.x_marker = 0;
        (envelope.tenant as Record<string, unknown>).x_marker = 0;
        let text = JSON.stringify(envelope);
        for (const op of ops) {
          if (op.kind === 'member') {
            if (op.where === 'top-start') text = text.replace(/^\{/, `{${op.member},`);
            else if (op.where === 'top-end') text = text.replace(/\}$/, `,${op.member}}`);
            else if (op.where === 'data') text = text.replace(/"data":\{/, `"data":{${op.member},`);
            else text = text.replace(/"tenant":\{/, `"tenant":{${op.member},`);
          } else if (op.kind === 'truncate') {
            text = text.slice(0, op.at % (text.length + 1));
          } else if (op.kind === 'flip') {
            const at = op.at % Math.max(1, text.length);
            text = `${text.slice(0, at)}${op.char}${text.slice(at + 1)}`;
          } else {
            text = {
              array: `[${text}]`,
              bom: `\ufeff${text}`,
              twice: `${text}${text}`,
              string: JSON.stringify(text),
              spaces: ` \n\t${text}\n `,
              'trailing-garbage': `${text}x`,
            }[op.how];
          }
        }
        // the markers stay unless an op consumed them; drop them from what the oracle judges
        text = asSentOverHttp(
          text.split(',"x_marker":0').join('').split('"x_marker":0,').join('').split('"x_marker":0').join(''),
        );
        const answer = await send('POST', '/v1/events', { body: text });
        const where = `POST /v1/events ${text.slice(0, 400)}`;
        let parsed: unknown;
        let parses = true;
        try {
          parsed = JSON.parse(text.replace(/^\ufeff/, ''));
        } catch {
          parses = false;
        }
        if (expectSuccessOrClientError(answer, where, [202])) {
          if (!parses) throw new Error(`${where}: accepted text that is not JSON`);
          if (hasPollutionKey(parsed)) throw new Error(`${where}: accepted a prototype-pollution key`);
          const problem = obviousEnvelopeProblem(parsed, Date.now(), TTL_MS);
          if (problem) throw new Error(`${where}: accepted (202) although ${problem}`);
          ledger.acceptedEventIds.add((answer.body as { event_id: string }).event_id);
        } else {
          ledger.rejectedEventIds.add(eventId);
          ledger.rejectedTenants.add(tenantId);
        }
      }),
      300,
    );
  });

  it('accepts valid envelopes of every catalogue type (202) and stores them as sent', async () => {
    await assertProperty(
      fc.asyncProperty(validEnvelopeArb, async (valid) => {
        const { value: envelope } = withFreshTags(envelopeOf(valid));
        const answer = await send('POST', '/v1/events', { body: JSON.stringify(envelope) });
        if (answer.status !== 202)
          throw new Error(
            `a valid ${valid.definition.name} envelope answered ${answer.status}: ${answer.text.slice(0, 300)}; sent ${JSON.stringify(envelope).slice(0, 300)}`,
          );
        ledger.count(202);
        const eventId = (answer.body as { event_id: string }).event_id;
        if (valid.withEventId) expect(eventId).toBe(envelope.event_id);
        ledger.acceptedEventIds.add(eventId);
        storedAsSent.set(eventId, envelope);
      }),
      150,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('arbitrary bodies', () => {
  const target = fc.constantFrom(
    { method: 'POST', path: () => '/v1/events' },
    { method: 'POST', path: () => '/v1/subscriptions' },
    { method: 'PATCH', path: () => `/v1/subscriptions/whsub_01ARZ3NDEKTSV4RRFFQ69G5FAV` },
    { method: 'POST', path: () => `/v1/subscriptions/whsub_01ARZ3NDEKTSV4RRFFQ69G5FAV/rotate-secret` },
    { method: 'POST', path: () => `/v1/subscriptions/whsub_01ARZ3NDEKTSV4RRFFQ69G5FAV/disable` },
    { method: 'POST', path: () => `/v1/subscriptions/whsub_01ARZ3NDEKTSV4RRFFQ69G5FAV/test` },
    { method: 'POST', path: () => '/v1/deliveries/whdlv_01ARZ3NDEKTSV4RRFFQ69G5FAV/cancel' },
  );
  const serialisable = fc
    .anything({
      maxDepth: 3,
      withDate: true,
      withNullPrototype: true,
      withSparseArray: true,
      withTypedArray: true,
      withObjectString: true,
      withBoxedValues: true,
      stringUnit: 'binary',
    })
    .map((value) => {
      try {
        return JSON.stringify(value);
      } catch {
        return undefined;
      }
    })
    .filter((text): text is string => text !== undefined);
  const body = fc.oneof(
    { arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)), weight: 4 },
    { arbitrary: serialisable, weight: 3 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }), weight: 2 },
    {
      arbitrary: fc.constantFrom(
        '',
        ' ',
        'null',
        'true',
        '0',
        '""',
        '[]',
        '{',
        '}',
        '{"a":',
        'event_type=user.updated',
        '<xml/>',
        '\ufeff{}',
        '{"a":1}{"b":2}',
      ),
      weight: 2,
    },
    { arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 2 },
  );
  const contentType = fc.oneof(
    { arbitrary: fc.constant('application/json'), weight: 6 },
    {
      arbitrary: fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/octet-stream',
        'multipart/form-data; boundary=x',
        'application/xml',
        '',
        'application/json; charset=utf-16',
        '*/*',
        'json',
      ),
      weight: 3,
    },
    { arbitrary: fc.constant(null), weight: 1 },
  );

  it('answers random JSON, non-JSON text and byte soup on every body-taking route with a clean 4xx', async () => {
    await assertProperty(
      fc.asyncProperty(target, body, contentType, async (route, payload, type) => {
        const answer = await send(route.method, route.path(), { body: payload, contentType: type });
        const shown = typeof payload === 'string' ? payload.slice(0, 200) : `<${payload.length} bytes>`;
        expectClientError(answer, `${route.method} ${route.path()} [${type}] ${shown}`);
      }),
      550,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

const GOOD_URLS = [
  'https://hooks.example.com/intelliauth',
  'http://hooks.example.com:8080/p?q=1#f',
  'https://exämple.com/hook',
  'https://hooks.example.com/%E2%9C%93',
];
const BAD_URLS = [
  'ftp://hooks.example.com/x',
  'file:///etc/passwd',
  'javascript:alert(1)',
  'data:text/plain,hi',
  'ws://hooks.example.com/x',
  'gopher://hooks.example.com/',
  'mailto:ops@example.com',
  'https://user:pw@hooks.example.com/x',
  'https://user@hooks.example.com/x',
  'https://:pw@hooks.example.com/x',
  'not a url',
  '/relative/path',
  '//hooks.example.com/x',
  'hooks.example.com/x',
  'https://',
  '',
  'http://10.0.0.1/x',
  'http://169.254.169.254/latest/meta-data',
  'http://[::ffff:10.0.0.1]/x',
  'http://0x0a000001/x',
  'http://192.168.1.1/x',
  'https://hooks.example.com/\u0000',
  'https://hooks.example.com/\ud800',
];

const GOOD_FILTERS = [...EVENT_TYPES, 'user.*', 'security.*', 'mfa.*', 'application.*', '*'];

describe('POST /v1/subscriptions', () => {
  type Part<T> = { kind: 'good' | 'bad' | 'random'; value: T };
  const urlPart: fc.Arbitrary<Part<unknown>> = fc.oneof(
    { arbitrary: fc.constantFrom(...GOOD_URLS).map((value) => ({ kind: 'good' as const, value })), weight: 3 },
    { arbitrary: fc.constantFrom(...BAD_URLS).map((value) => ({ kind: 'bad' as const, value })), weight: 4 },
    {
      arbitrary: fc
        .integer({ min: 2049, max: 5000 })
        .map((n) => ({ kind: 'bad' as const, value: `https://hooks.example.com/${'a'.repeat(n - 26)}` })),
      weight: 1,
    },
    {
      arbitrary: fc
        .oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), anyText, wrongValue)
        .map((value) => ({ kind: 'random' as const, value })),
      weight: 2,
    },
  );
  const typesPart: fc.Arbitrary<Part<unknown>> = fc.oneof(
    {
      arbitrary: fc
        .array(fc.constantFrom(...GOOD_FILTERS), { minLength: 1, maxLength: 6 })
        .map((value) => ({ kind: 'good' as const, value })),
      weight: 3,
    },
    {
      arbitrary: fc
        .oneof(
          fc.constant([]),
          fc
            .array(eventTypeNearMiss, { minLength: 1, maxLength: 3 })
            .map((v) => v.filter((t) => !GOOD_FILTERS.includes(t)))
            .filter((v) => v.length > 0),
          fc.constant(Array.from({ length: 101 }, () => 'user.*')),
          fc.constantFrom(
            [1],
            [''],
            [null],
            ['billing.*'],
            ['*.*'],
            ['user.*', 'user.teleported'],
            'user.*',
            { 0: 'user.*' },
            ['x'.repeat(101)],
            [['user.*']],
          ),
        )
        .map((value) => ({ kind: 'bad' as const, value })),
      weight: 3,
    },
    {
      arbitrary: fc
        .oneof(fc.array(anyText, { maxLength: 3 }), wrongValue)
        .map((value) => ({ kind: 'random' as const, value })),
      weight: 1,
    },
  );
  const tenantPart: fc.Arbitrary<Part<unknown>> = fc.oneof(
    { arbitrary: fc.constant({ kind: 'good' as const, value: TENANT_MARK }), weight: 6 },
    {
      arbitrary: fc
        .oneof(badTenantId, fc.constantFrom(0, null, true, [], {}, ['tnt_x']))
        .map((value) => ({ kind: 'bad' as const, value })),
      weight: 2,
    },
  );
  const descriptionPart: fc.Arbitrary<Part<unknown> | undefined> = fc.oneof(
    fc.constant(undefined),
    fc
      .string({ unit: 'grapheme', maxLength: 60 })
      .filter(isStorable)
      .map((value) => ({ kind: 'good' as const, value })),
    fc
      .oneof(
        fc.constant('d'.repeat(1025)),
        fc.constantFrom(...UNSTORABLE_STRINGS),
        fc.constantFrom(null, 1, [], {}, true),
      )
      .map((value) => ({ kind: 'bad' as const, value })),
  );
  const rarely = <T>(arbitrary: fc.Arbitrary<T>) =>
    fc.oneof({ arbitrary: fc.constant(null), weight: 6 }, { arbitrary, weight: 1 });
  const extraPart = rarely(fc.constantFrom('secret', 'id', 'enabled', 'colour', '__proto__', 'constructor'));
  const dropPart = rarely(fc.constantFrom('url', 'event_types', 'tenant_id'));

  it('answers bad URLs (other schemes, credentials, > 2,048 characters, private addresses), bad event types, tenants and descriptions with a clean 4xx, and creates the good ones', async () => {
    await assertProperty(
      fc.asyncProperty(
        urlPart,
        typesPart,
        tenantPart,
        descriptionPart,
        extraPart,
        dropPart,
        async (url, types, tenant, description, extra, drop) => {
          const request: Record<string, unknown> = {
            tenant_id: tenant.value,
            url: url.value,
            event_types: types.value,
          };
          if (description) request.description = description.value;
          if (extra)
            Object.defineProperty(request, extra, {
              value: extra === 'constructor' ? { prototype: { polluted: true } } : 'x',
              enumerable: true,
            });
          if (drop) delete request[drop];
          const { value: body, tenantId } = withFreshTags(request);
          const text = JSON.stringify(body);
          const answer = await send('POST', '/v1/subscriptions', { body: text });
          const where = `POST /v1/subscriptions ${text.slice(0, 300)}`;
          const parts = [url, types, tenant, ...(description ? [description] : [])];
          const mustFail = parts.some((p) => p.kind === 'bad') || extra !== null || drop !== null;
          const mustPass = !mustFail && parts.every((p) => p.kind === 'good');
          if (expectSuccessOrClientError(answer, where, [201])) {
            if (mustFail) throw new Error(`${where}: created (201) a subscription that is invalid`);
            const created = answer.body as { id: string; tenant_id: string; secret: string };
            expect(created).toMatchObject({
              id: expect.stringMatching(/^whsub_/),
              tenant_id: tenantId,
              secret: expect.stringMatching(/^whsec_/),
            });
            acceptedSubscriptions.set(tenantId, created.id);
          } else {
            if (mustPass) throw new Error(`${where}: refused a valid subscription: ${answer.text.slice(0, 300)}`);
            ledger.rejectedTenants.add(tenantId);
          }
        },
      ),
      350,
    );
  });

  it('answers PATCH bodies of the wrong shape on a real subscription with a clean 4xx (or 200 for a valid change)', async () => {
    const field = fc.oneof(
      fc.record({ url: fc.oneof(fc.constantFrom(...GOOD_URLS, ...BAD_URLS), wrongValue) }, { requiredKeys: [] }),
      fc.record(
        {
          event_types: fc.oneof(
            fc.array(fc.constantFrom(...GOOD_FILTERS), { maxLength: 3 }),
            fc.array(eventTypeNearMiss, { maxLength: 2 }),
            wrongValue,
          ),
        },
        { requiredKeys: [] },
      ),
      fc.record(
        {
          description: fc.oneof(fc.constant(null), anyText, oversizeArb.map(expandOversize)),
          enabled: fc.oneof(fc.boolean(), wrongValue),
        },
        { requiredKeys: [] },
      ),
      fc.dictionary(
        fc.oneof(
          fc.constantFrom('url', 'event_types', 'description', 'enabled', 'tenant_id', 'secret', 'id'),
          fc.string({ maxLength: 8 }),
        ),
        wrongValue,
        { maxKeys: 3 },
      ),
    );
    await assertProperty(
      fc.asyncProperty(field, async (body) => {
        const text = JSON.stringify(body);
        const answer = await send('PATCH', `/v1/subscriptions/${subscriptionId}`, { body: text });
        expectSuccessOrClientError(answer, `PATCH /v1/subscriptions/${subscriptionId} ${text.slice(0, 300)}`, [200]);
      }),
      120,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('list query parameters', () => {
  const lists = [
    { path: '/v1/deliveries', keys: ['tenant_id', 'status', 'event_type', 'subscription_id', 'limit', 'cursor'] },
    {
      path: '/v1/dead-letters',
      keys: ['tenant_id', 'subscription_id', 'event_type', 'reason', 'from', 'to', 'limit', 'cursor'],
    },
    { path: '/v1/subscriptions', keys: ['tenant_id', 'limit', 'cursor'] },
    { path: '/v1/operator-actions', keys: ['tenant_id', 'target_id', 'action', 'limit', 'cursor'] },
  ];
  const ulidLike = fc.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  const goodValue: Record<string, fc.Arbitrary<string>> = {
    tenant_id: fc.constantFrom('tnt_acme', 'tnt_property.query:1', 'a'),
    status: fc.constantFrom(...DELIVERY_STATUSES),
    event_type: fc.constantFrom(...EVENT_TYPES),
    subscription_id: ulidLike.map((id) => `whsub_${id}`),
    limit: fc.integer({ min: 1, max: 200 }).map(String),
    cursor: fc
      .tuple(fc.constantFrom('whdlv', 'whsub', 'act'), ulidLike)
      .map(([prefix, id]) => Buffer.from(`${prefix}_${id}`).toString('base64url')),
    reason: fc.constantFrom('exhausted', 'expired', 'subscription_disabled', 'subscription_deleted'),
    from: fc
      .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString()),
    to: fc
      .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString()),
    target_id: ulidLike.map((id) => `whdlv_${id}`),
    action: fc.constantFrom('delivery.cancel', 'subscription.rotate_secret', 'dead_letter.redrive'),
  };
  const badValue = fc.oneof(
    anyText,
    eventTypeNearMiss,
    badTenantId,
    badDateText.map(expandDate),
    fc.constantFrom(
      '0',
      '201',
      '-1',
      '1.5',
      '1e2',
      '01',
      ' 1',
      '0x10',
      'Infinity',
      '999999999999999999999999',
      '50abc',
      '+5',
    ),
    fc.constantFrom(
      'bogus',
      'd2hkbHZfMDE=',
      Buffer.from('whdlv_nope').toString('base64url'),
      Buffer.from('\u0000').toString('base64'),
      '====',
      'whdlv_01ARZ3NDEKTSV4RRFFQ69G5FAV',
    ),
    fc.constantFrom(
      'whsub_',
      'whsub_abc',
      'WHSUB_01ARZ3NDEKTSV4RRFFQ69G5FAV',
      'whsub_01arz3ndektsv4rrffq69g5fav',
      'lost',
      'DELIVERED',
      'exhausted!',
    ),
    oversizeArb.filter((o) => o.oversize <= 4_097).map(expandOversize),
  );
  const pair = (keys: string[]) =>
    fc.oneof(
      {
        arbitrary: fc
          .constantFrom(...keys)
          .chain((key) => (goodValue[key] ?? anyText).map((value) => ({ key, value, raw: false }))),
        weight: 3,
      },
      {
        arbitrary: fc.tuple(fc.constantFrom(...keys), badValue).map(([key, value]) => ({ key, value, raw: false })),
        weight: 3,
      },
      {
        arbitrary: fc
          .tuple(
            fc.oneof(
              fc.constantFrom(
                '__proto__',
                'constructor',
                'toString',
                'hasOwnProperty',
                '',
                'tenant_id[]',
                'limit[0]',
                'a.b',
              ),
              anyText,
            ),
            badValue,
          )
          .map(([key, value]) => ({ key, value, raw: false })),
        weight: 1,
      },
      {
        arbitrary: fc.tuple(fc.constantFrom(...keys), rawUrlGarbage).map(([key, value]) => ({ key, value, raw: true })),
        weight: 1,
      },
    );

  it('answers any mix of good, bad, unknown, repeated, unicode and empty parameters on every list with 200 or a clean 4xx', async () => {
    await assertProperty(
      fc.asyncProperty(
        fc
          .constantFrom(...lists)
          .chain((list) =>
            fc.tuple(
              fc.constant(list.path),
              fc.array(pair(list.keys), { maxLength: 6 }),
              fc.constantFrom('&', '&&', ';'),
            ),
          ),
        async ([path, pairs, separator]) => {
          const query = pairs
            .map(({ key, value, raw }) => `${percentEncode(key)}=${raw ? value : percentEncode(value)}`)
            .join(separator);
          const url = query ? `${path}?${query}` : `${path}?`;
          const answer = await send('GET', url);
          if (expectSuccessOrClientError(answer, `GET ${url.slice(0, 400)}`, [200])) {
            const page = answer.body as { data: unknown; next_cursor: unknown };
            if (!Array.isArray(page.data) || !(page.next_cursor === null || typeof page.next_cursor === 'string'))
              throw new Error(`GET ${url}: 200 without a page: ${answer.text.slice(0, 200)}`);
          }
        },
      ),
      600,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('ids in the path', () => {
  const routes: Array<{ method: string; path: (id: string) => string; body?: string }> = [
    { method: 'GET', path: (id) => `/v1/events/${id}` },
    { method: 'GET', path: (id) => `/v1/deliveries/${id}` },
    { method: 'POST', path: (id) => `/v1/deliveries/${id}/cancel`, body: '{"reason":"property"}' },
    { method: 'POST', path: (id) => `/v1/deliveries/${id}/retry` },
    { method: 'POST', path: (id) => `/v1/dead-letters/${id}/redrive` },
    { method: 'GET', path: (id) => `/v1/dead-letters/redrives/${id}` },
    { method: 'GET', path: (id) => `/v1/subscriptions/${id}` },
    { method: 'PATCH', path: (id) => `/v1/subscriptions/${id}`, body: '{"enabled":true}' },
    { method: 'DELETE', path: (id) => `/v1/subscriptions/${id}` },
    { method: 'POST', path: (id) => `/v1/subscriptions/${id}/enable` },
    { method: 'POST', path: (id) => `/v1/subscriptions/${id}/rotate-secret`, body: '{}' },
    { method: 'DELETE', path: (id) => `/v1/tenants/tnt_property_paths/api-keys/${id}` },
  ];
  const ulidLike = fc.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  const id = fc
    .oneof(
      { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), weight: 3 },
      { arbitrary: unicodeText.filter((s) => s.length > 0), weight: 2 },
      {
        arbitrary: fc
          .tuple(fc.constantFrom('evt_', 'whdlv_', 'whsub_', 'redrv_', 'iawk_', 'EVT_', ''), ulidLike)
          .map(([p, u]) => p + u),
        weight: 2,
      },
      { arbitrary: fc.constantFrom(...UNSTORABLE_STRINGS), weight: 1 },
      { arbitrary: fc.integer({ min: 90, max: 400 }).map((n) => 'i'.repeat(n)), weight: 1 },
      {
        arbitrary: fc.constantFrom('null', 'undefined', '0', '-1', ' ', '%', '?', '#', '/', 'a/b', '\\', '*', "'", '"'),
        weight: 1,
      },
    )
    .filter((text) => !/^(\.|%2e){1,2}$/i.test(text)); // dot segments re-route (/v1/dead-letters/./redrive is the bulk redrive)
  const encoded = fc.oneof(
    { arbitrary: id.map((text) => ({ text, path: percentEncode(text) })), weight: 5 },
    {
      arbitrary: fc
        .tuple(id, rawUrlGarbage)
        .map(([text, garbage]) => ({ text, path: `${percentEncode(text)}${garbage}` })),
      weight: 1,
    },
  );

  it('answers random, malformed, over-long and NUL ids on every id route with a clean 4xx', async () => {
    await assertProperty(
      fc.asyncProperty(fc.constantFrom(...routes), encoded, async (route, { text, path }) => {
        if (isStorable(text)) probedIds.add(text);
        const answer = await send(route.method, route.path(path), route.body === undefined ? {} : { body: route.body });
        expectClientError(answer, `${route.method} ${route.path(path).slice(0, 300)}`);
      }),
      400,
    );
  });
});

describe('authentication', () => {
  const header = fc.oneof(
    // fetch takes printable ASCII (and tab) in a header value, nothing else
    fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e\t]/g, '')),
    fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
    fc.constantFrom(
      '',
      'Bearer',
      'Bearer ',
      'bearer iaw_tk_0123456789abcdef',
      'Basic dXNlcjpwdw==',
      'Bearer iaw_sk_wrong',
      'Token x',
    ),
  );
  const route = fc.constantFrom(
    ['GET', '/v1/deliveries'],
    ['POST', '/v1/events'],
    ['GET', '/v1/subscriptions?tenant_id=t'],
    ['POST', '/v1/dead-letters/redrive'],
    ['GET', '/v1/events/evt_x'],
  );

  it('answers missing and garbage Authorization headers with 401 unauthorized', async () => {
    await assertProperty(
      fc.asyncProperty(route, fc.option(header, { freq: 8 }), async ([method, path], authorization) => {
        if (authorization !== null && authorization.trim() === `Bearer ${stack.apiKey}`) return;
        const answer = await send(method, path, { authorization, ...(method === 'POST' ? { body: '{}' } : {}) });
        expect(expectClientError(answer, `${method} ${path} with Authorization ${JSON.stringify(authorization)}`)).toBe(
          'unauthorized',
        );
      }),
      80,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Regression examples: each bug these properties found, as a plain example.

describe('regressions found by the properties', () => {
  const valid = (extra: Record<string, unknown> = {}) => ({
    event_type: 'user.updated',
    tenant: { id: freshTenant() },
    data: { user: { id: 'usr_1' } },
    ...extra,
  });
  async function publishRejected(body: Record<string, unknown> | string, status: number, code: string) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const answer = await send('POST', '/v1/events', { body: text });
    expect({ status: answer.status, code: (answer.body as { error?: { code?: string } })?.error?.code }).toEqual({
      status,
      code,
    });
    checkErrorBody(answer.body, 'regression');
  }

  it('a leap second in occurred_at is a 400 (was a 500: Date.parse gives NaN and toISOString threw), and stores nothing', async () => {
    const eventId = `evt_leap_${Date.now()}`;
    await publishRejected(
      valid({ event_id: eventId, occurred_at: `${new Date().toISOString().slice(0, 10)}T23:59:60Z` }),
      400,
      'validation_failed',
    );
    await publishRejected(
      valid({ occurred_at: new Date().toISOString().slice(0, 19) + '+05' }),
      400,
      'validation_failed',
    );
    expect((await pool.query('SELECT 1 FROM events WHERE id = $1', [eventId])).rowCount).toBe(0);
  });

  it('NUL and lone surrogates in stored text are a 400 (NUL was a 500 from Postgres text columns)', async () => {
    await publishRejected(valid({ tenant: { id: freshTenant(), slug: 'a\u0000' } }), 400, 'validation_failed');
    await publishRejected(valid({ data: { user: { id: 'usr_1' }, note: 'x\ud800' } }), 400, 'validation_failed');
    for (const body of [
      { tenant_id: freshTenant(), url: 'https://hooks.example.com/\u0000', event_types: ['*'] },
      { tenant_id: freshTenant(), url: 'https://hooks.example.com/', event_types: ['*'], description: 'a\u0000' },
    ]) {
      const answer = await send('POST', '/v1/subscriptions', { body: JSON.stringify(body) });
      expect([answer.status, checkErrorBody(answer.body, 'regression')]).toEqual([400, 'validation_failed']);
      expect((await pool.query('SELECT 1 FROM subscriptions WHERE tenant_id = $1', [body.tenant_id])).rowCount).toBe(0);
    }
  });

  it('data nested 5,000 levels deep is a 400 (was a 500: stack overflow while hashing the content)', async () => {
    const deep = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
    await publishRejected(
      `{"event_type":"user.updated","tenant":{"id":"${freshTenant()}"},"data":{"user":{"id":"u"},"x":${deep}}}`,
      400,
      'validation_failed',
    );
    await publishRejected(
      `{"event_type":"user.updated","tenant":{"id":"${freshTenant()}"},"actor":{"kind":"user","x":${deep}},"data":{"user":{"id":"u"}}}`,
      400,
      'validation_failed',
    );
  });

  it('1e400 (Infinity once parsed) is a 400 (was a 500: the content hash refused Infinity)', async () => {
    await publishRejected(
      `{"event_type":"user.updated","tenant":{"id":"${freshTenant()}"},"data":{"user":{"id":"u"},"x":1e400}}`,
      400,
      'validation_failed',
    );
  });

  it('an id with NUL in the path is a 400 invalid_id on every id route (was a 500 from Postgres)', async () => {
    for (const [method, path] of [
      ['GET', '/v1/events/evt_%00'],
      ['GET', '/v1/deliveries/a%00b'],
      ['GET', '/v1/subscriptions/whsub_%00'],
      ['PATCH', '/v1/subscriptions/%00'],
      ['POST', '/v1/dead-letters/x%00/redrive'],
      ['GET', '/v1/dead-letters/redrives/x%00'],
      ['GET', '/v1/tenants/x%00/api-keys'],
      ['DELETE', '/v1/tenants/x/api-keys/%00'],
    ]) {
      const answer = await send(method, path, method === 'PATCH' ? { body: '{"enabled":true}' } : {});
      expect([method, path, answer.status, checkErrorBody(answer.body, path)]).toEqual([
        method,
        path,
        400,
        'invalid_id',
      ]);
    }
  });

  it('router and HTTP-parser refusals have the API error shape (were Fastify-shaped bodies)', async () => {
    const badUrl = await send('GET', '/v1/events/%ED%A0%80');
    expect([badUrl.status, checkErrorBody(badUrl.body, 'bad url')]).toEqual([400, 'invalid_path']);
    const hugeQuery = await send('GET', `/v1/deliveries?tenant_id=${'a'.repeat(20_000)}`);
    expect([hugeQuery.status, checkErrorBody(hugeQuery.body, 'huge query')]).toEqual([431, 'headers_too_large']);
  });

  it('a bulk-redrive filter with a leap second is a 400 (was a 202 storing a filter no Date can hold)', async () => {
    const answer = await send('POST', '/v1/dead-letters/redrive', {
      body: JSON.stringify({ tenant_id: freshTenant(), from: `${new Date().toISOString().slice(0, 10)}T23:59:60Z` }),
    });
    expect([answer.status, checkErrorBody(answer.body, 'bulk redrive')]).toEqual([400, 'validation_failed']);
  });

  it('an error message that echoes input stays under 1,000 characters', async () => {
    const unknown = Array.from({ length: 100 }, (_, i) => `user.${'x'.repeat(90)}${i}`);
    const answer = await send('POST', '/v1/subscriptions', {
      body: JSON.stringify({ tenant_id: freshTenant(), url: 'https://hooks.example.com/x', event_types: unknown }),
    });
    expect(answer.status).toBe(422);
    checkErrorBody(answer.body, 'long message');
  });
});

describe('regressions found by the properties', () => {
  // The shape of 2026-99-99T99:99Z passed the time pattern and reached Postgres as an Invalid Date (a 500).
  it('GET /v1/dead-letters?from=2026-99-99T99:99Z is a 400 invalid_query', async () => {
    const answer = await send('GET', '/v1/dead-letters?from=2026-99-99T99:99Z');
    expect([answer.status, checkErrorBody(answer.body, 'dead letters from')]).toEqual([400, 'invalid_query']);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('the database after the run', () => {
  it('holds nothing from a rejected request, and every accepted event and subscription as answered', async () => {
    const rejectedEvents = [...ledger.rejectedEventIds];
    const rejectedTenants = [...ledger.rejectedTenants];
    console.log(
      `REST: ${rejectedEvents.length} rejected and ${ledger.acceptedEventIds.size} accepted publishes, ${rejectedTenants.length} rejected tenants, ${acceptedSubscriptions.size} subscriptions created`,
    );
    expect(rejectedEvents.length).toBeGreaterThan(0);
    expect(ledger.acceptedEventIds.size).toBeGreaterThan(0);

    await expectOnlyAcceptedEventsStored(pool, ledger);
    const namedDeliveries = await pool.query<{ id: string; event_id: string }>(
      'SELECT id, event_id FROM deliveries WHERE event_id = ANY($1::text[]) OR tenant_id = ANY($2::text[])',
      [rejectedEvents, rejectedTenants],
    );
    expect(namedDeliveries.rows.filter((row) => !ledger.acceptedEventIds.has(row.event_id))).toEqual([]);
    const leakedSubscriptions = await pool.query(
      'SELECT id, tenant_id FROM subscriptions WHERE tenant_id = ANY($1::text[])',
      [rejectedTenants],
    );
    expect(leakedSubscriptions.rows).toEqual([]);
    const leakedActions = await pool.query(
      'SELECT id, target_id FROM operator_actions WHERE target_id = ANY($1::text[])',
      [[...probedIds]],
    );
    expect(leakedActions.rows).toEqual([]);

    const subscriptions = await pool.query<{ id: string; tenant_id: string }>(
      'SELECT id, tenant_id FROM subscriptions WHERE tenant_id = ANY($1::text[])',
      [[...acceptedSubscriptions.keys()]],
    );
    expect(new Map(subscriptions.rows.map((r) => [r.tenant_id, r.id]))).toEqual(acceptedSubscriptions);

    await expectEventsStoredAsSent(pool, storedAsSent);
  });
});
