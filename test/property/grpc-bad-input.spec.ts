import { Metadata, ServiceError, status } from '@grpc/grpc-js';
import fc from 'fast-check';
import { Pool } from 'pg';
import { EVENT_TYPES } from '../../libs/contracts/catalogue';
import { DELIVERY_STATUSES } from '../../libs/contracts/delivery-status';
import { testPool } from '../helpers/database';
import { webhooksClient } from '../helpers/grpc-clients';
import { expectEventsStoredAsSent, expectOnlyAcceptedEventsStored } from '../helpers/stored-events';
import { Stack, startStack } from '../helpers/stack';
import {
  anyText,
  assertProperty,
  asSentOverHttp,
  badDateText,
  badEventId,
  badTenantId,
  ERROR_CODE,
  EVENT_MARK,
  envelopeOf,
  eventTypeNearMiss,
  expandDate,
  expandOversize,
  freshTenant,
  Ledger,
  MAX_MESSAGE_LENGTH,
  obviousEnvelopeProblem,
  outOfWindowOffsetMs,
  Oversize,
  oversizeArb,
  unicodeText,
  UNSTORABLE_STRINGS,
  validEnvelopeArb,
  withFreshTags,
} from './support';

/**
 * Property-based bad input through the gRPC API with a client generated from the .proto at run time, as any gRPC
 * user would: every failure is a canonical code other than INTERNAL/UNKNOWN (or a deadline, which would mean a
 * hang) with the REST error code in the `error-code` trailer, nothing of a rejected publish is stored, and the
 * server still answers a valid call at the end.
 */

const TTL_MS = 86_400_000;
const BODY_LIMIT = 256 * 1024;
const CALL_DEADLINE_MS = 10_000;

/** The canonical codes application code answers with (docs/api.md); INTERNAL, UNKNOWN, DEADLINE_EXCEEDED… never. */
const CLIENT_ERROR_CODES = new Set([
  status.INVALID_ARGUMENT,
  status.NOT_FOUND,
  status.ALREADY_EXISTS,
  status.PERMISSION_DENIED,
  status.FAILED_PRECONDITION,
  status.UNAUTHENTICATED,
  status.RESOURCE_EXHAUSTED,
]);

let stack: Stack;
let pool: Pool;
let client: any;
const ledger = new Ledger();
const storedAsSent = new Map<string, Record<string, unknown>>();

beforeAll(async () => {
  stack = await startStack({ retryScheduleMs: [0], attemptTimeoutMs: 1_000, ttlMs: TTL_MS }, { worker: false });
  pool = testPool();
  client = webhooksClient(stack.grpcAddress);
});
afterAll(async () => {
  console.log(`gRPC bad-input properties: ${ledger.summary()}`);
  client?.close();
  await pool?.end();
  await stack?.stop();
});

type Outcome =
  { ok: true; response: any } | { ok: false; code: status; errorCode: string; message: string; error: ServiceError };

function call(method: string, request: unknown, key: string | null = stack.apiKey): Promise<Outcome> {
  const metadata = new Metadata();
  if (key !== null) metadata.set('authorization', `Bearer ${key}`);
  return new Promise((resolve) => {
    client[method](
      request,
      metadata,
      { deadline: Date.now() + CALL_DEADLINE_MS },
      (error: ServiceError | null, response: unknown) => {
        if (!error) return resolve({ ok: true, response });
        resolve({
          ok: false,
          code: error.code,
          errorCode: String(error.metadata?.get('error-code')[0] ?? ''),
          message: error.details ?? error.message,
          error,
        });
      },
    );
  });
}

/** The outcome must be a failure with a client-error canonical code and the REST error code; returns that code. */
function expectClientError(outcome: Outcome, where: string): string {
  if (outcome.ok)
    throw new Error(
      `${where}: expected an error, the call succeeded with ${JSON.stringify(outcome.response).slice(0, 300)}`,
    );
  const name = status[outcome.code];
  if (!CLIENT_ERROR_CODES.has(outcome.code))
    throw new Error(`${where}: answered ${name} (${outcome.code}) "${outcome.message.slice(0, 300)}"`);
  if (!ERROR_CODE.test(outcome.errorCode))
    throw new Error(`${where}: ${name} without a snake_case error-code trailer (got "${outcome.errorCode}")`);
  if (!outcome.message.startsWith(`${outcome.errorCode}: `) || outcome.message.length < outcome.errorCode.length + 12) {
    throw new Error(
      `${where}: the message does not start with the error code and say what to fix: "${outcome.message.slice(0, 300)}"`,
    );
  }
  if (outcome.message.length > MAX_MESSAGE_LENGTH + outcome.errorCode.length + 2)
    throw new Error(`${where}: a ${outcome.message.length}-character message`);
  ledger.count(name, outcome.errorCode);
  return outcome.errorCode;
}

// ---------------------------------------------------------------------------------------------------------------
// google.protobuf.Struct, as the generated client takes it.

function toValue(value: unknown): unknown {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(toValue) } };
  return { structValue: toStruct(value as Record<string, unknown>) };
}
function toStruct(object: Record<string, unknown>): { fields: Record<string, unknown> } {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object))
    Object.defineProperty(fields, key, { value: toValue(value), enumerable: true, writable: true, configurable: true });
  return { fields };
}
/** A copy that keeps what JSON would lose: NaN and ±Infinity, own `__proto__` keys. */
function clone(value: unknown, mapString: (text: string) => string = (text) => text): unknown {
  if (typeof value === 'string') return mapString(value);
  if (Array.isArray(value)) return value.map((item) => clone(item, mapString));
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value))
      Object.defineProperty(copy, mapString(key), {
        value: clone(child, mapString),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return copy;
  }
  return value;
}

/**
 * What the server's controller makes of the Publish request built from this JSON form by publishRequest: the REST
 * envelope, proto3 "" meaning absent, strings as they arrive in UTF-8 (a lone surrogate turns into U+FFFD).
 */
function asServerSees(form: Record<string, any>): Record<string, unknown> {
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? asSentOverHttp(value) : undefined);
  const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object';
  const envelope: Record<string, unknown> = {
    event_id: text(form.event_id),
    event_type: text(form.event_type),
    occurred_at: text(form.occurred_at),
    tenant: isObject(form.tenant)
      ? { id: text(form.tenant.id) ?? '', ...(text(form.tenant.slug) ? { slug: text(form.tenant.slug) } : {}) }
      : undefined,
    actor: isObject(form.actor) ? clone(form.actor, asSentOverHttp) : undefined,
    data: isObject(form.data) ? clone(form.data, asSentOverHttp) : undefined,
  };
  return Object.fromEntries(Object.entries(envelope).filter(([, v]) => v !== undefined));
}

// ---------------------------------------------------------------------------------------------------------------
// Publish requests: a valid envelope, then what a gRPC client can break (strings, Struct contents, missing parts).

type StructJson = Record<string, unknown>;
type GrpcMutation =
  | { field: 'event_id' | 'event_type' | 'occurred_at' | 'tenant.id' | 'tenant.slug'; value: string }
  | { field: 'tenant'; value: { id?: string; slug?: string } | undefined }
  | { field: 'actor' | 'data'; value: StructJson | undefined }
  | { field: 'actor.member' | 'data.member' | 'data.user.member'; key: string; value: unknown }
  | {
      field: 'oversize';
      path:
        | 'event_id'
        | 'event_type'
        | 'occurred_at'
        | 'tenant.id'
        | 'tenant.slug'
        | 'actor.kind'
        | 'data.x_big'
        | 'data.user.id';
      size: Oversize;
    }
  | { field: 'window'; offsetMs: number };

/** Struct member values, including what JSON cannot carry but a protobuf double can (NaN, ±Infinity). */
const structValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 4 },
  { arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e308, Number.MAX_SAFE_INTEGER + 2, 5e-324), weight: 2 },
  { arbitrary: unicodeText, weight: 2 },
  { arbitrary: fc.constantFrom(...UNSTORABLE_STRINGS), weight: 1 },
  {
    arbitrary: fc.tuple(fc.integer({ min: 1, max: 20 }), fc.constantFrom('array', 'object')).map(([depth, kind]) => {
      let value: unknown = 'bottom';
      for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { a: value };
      return value;
    }),
    weight: 1,
  },
);
const memberKey = fc.oneof(
  { arbitrary: fc.string({ maxLength: 12 }), weight: 3 },
  {
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'hasOwnProperty',
      '',
      'user',
      'id',
      'kind',
    ),
    weight: 2,
  },
  { arbitrary: unicodeText, weight: 1 },
  { arbitrary: fc.integer({ min: 100, max: 20_000 }).map((n) => 'k'.repeat(n)), weight: 1 },
);
const structArb: fc.Arbitrary<StructJson> = fc.oneof(
  fc.constant({}),
  fc.dictionary(memberKey, structValue, { maxKeys: 4 }),
  fc.constant(
    JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}') as StructJson,
  ),
);

const grpcMutation: fc.Arbitrary<GrpcMutation> = fc.oneof(
  {
    arbitrary: fc
      .oneof(fc.constant(''), badEventId, anyText)
      .map((value): GrpcMutation => ({ field: 'event_id', value })),
    weight: 2,
  },
  {
    arbitrary: fc
      .oneof(fc.constant(''), eventTypeNearMiss)
      .map((value): GrpcMutation => ({ field: 'event_type', value })),
    weight: 2,
  },
  {
    arbitrary: fc
      .oneof(fc.constant(''), badDateText.map(expandDate))
      .map((value): GrpcMutation => ({ field: 'occurred_at', value })),
    weight: 2,
  },
  {
    arbitrary: fc.oneof(fc.constant(''), badTenantId).map((value): GrpcMutation => ({ field: 'tenant.id', value })),
    weight: 2,
  },
  {
    arbitrary: fc.oneof(unicodeText, anyText).map((value): GrpcMutation => ({ field: 'tenant.slug', value })),
    weight: 1,
  },
  {
    arbitrary: fc
      .constantFrom(undefined, {}, { slug: 'acme' }, { id: '' })
      .map((value): GrpcMutation => ({ field: 'tenant', value })),
    weight: 1,
  },
  {
    arbitrary: fc
      .tuple(fc.constantFrom<'actor' | 'data'>('actor', 'data'), fc.option(structArb, { nil: undefined }))
      .map(([field, value]): GrpcMutation => ({ field, value })),
    weight: 2,
  },
  {
    arbitrary: fc
      .tuple(
        fc.constantFrom<'actor.member' | 'data.member' | 'data.user.member'>(
          'actor.member',
          'data.member',
          'data.user.member',
        ),
        memberKey,
        structValue,
      )
      .map(([field, key, value]): GrpcMutation => ({ field, key, value })),
    weight: 4,
  },
  {
    arbitrary: fc
      .tuple(
        fc.constantFrom<
          | 'event_id'
          | 'event_type'
          | 'occurred_at'
          | 'tenant.id'
          | 'tenant.slug'
          | 'actor.kind'
          | 'data.x_big'
          | 'data.user.id'
        >(
          'event_id',
          'event_type',
          'occurred_at',
          'tenant.id',
          'tenant.slug',
          'actor.kind',
          'data.x_big',
          'data.user.id',
        ),
        oversizeArb,
      )
      .map(([path, size]): GrpcMutation => ({ field: 'oversize', path, size })),
    weight: 2,
  },
  { arbitrary: outOfWindowOffsetMs.map((offsetMs): GrpcMutation => ({ field: 'window', offsetMs })), weight: 1 },
);

function objectAt(root: Record<string, any>, path: string[]): Record<string, any> | undefined {
  let node: any = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    if (node[key] === undefined) node[key] = {};
    node = node[key];
  }
  return node !== null && typeof node === 'object' && !Array.isArray(node) ? node : undefined;
}
const define = (target: Record<string, any> | undefined, key: string, value: unknown) => {
  if (target) Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
};

/** The envelope (JSON form, with tag placeholders) after the mutations. */
function mutateForGrpc(
  envelope: Record<string, any>,
  mutations: readonly GrpcMutation[],
  now: number,
): Record<string, any> {
  const copy = JSON.parse(JSON.stringify(envelope)) as Record<string, any>;
  for (const m of mutations) {
    switch (m.field) {
      case 'event_id':
      case 'event_type':
      case 'occurred_at':
        copy[m.field] = m.value;
        break;
      case 'tenant.id':
      case 'tenant.slug':
        define(objectAt(copy, ['tenant']), m.field.slice(7), m.value);
        break;
      case 'tenant':
      case 'actor':
      case 'data':
        copy[m.field] = clone(m.value);
        break;
      case 'actor.member':
      case 'data.member':
      case 'data.user.member':
        define(objectAt(copy, m.field.split('.').slice(0, -1)), m.key, clone(m.value));
        break;
      case 'oversize': {
        const path = m.path.split('.');
        define(
          path.length === 1 ? copy : objectAt(copy, path.slice(0, -1)),
          path[path.length - 1],
          expandOversize(m.size),
        );
        break;
      }
      case 'window':
        copy.occurred_at = new Date(now + m.offsetMs).toISOString();
        break;
    }
  }
  return copy;
}

/** A Publish request from the JSON form: strings stay strings (proto3 ''), Structs from objects. */
function publishRequest(envelope: Record<string, any>): Record<string, any> {
  const string = (value: unknown) => (typeof value === 'string' ? value : '');
  const request: Record<string, any> = {
    event_id: string(envelope.event_id),
    event_type: string(envelope.event_type),
    occurred_at: string(envelope.occurred_at),
  };
  if (envelope.tenant && typeof envelope.tenant === 'object')
    request.tenant = { id: string(envelope.tenant.id), slug: string(envelope.tenant.slug) };
  if (envelope.actor && typeof envelope.actor === 'object') request.actor = toStruct(envelope.actor);
  if (envelope.data && typeof envelope.data === 'object') request.data = toStruct(envelope.data);
  return request;
}

describe('Publish', () => {
  it('answers envelopes with bad strings, missing tenant, bad types and dates, odd Struct contents and oversize fields with OK or a clean error', async () => {
    await assertProperty(
      fc.asyncProperty(
        validEnvelopeArb,
        fc.array(grpcMutation, { minLength: 1, maxLength: 3 }),
        async (valid, mutations) => {
          const now = Date.now();
          const {
            value: form,
            tenantId,
            eventId,
          } = withFreshTags(mutateForGrpc({ ...envelopeOf(valid, now), event_id: EVENT_MARK }, mutations, now));
          const request = publishRequest(form);
          const seen = asServerSees(form);
          const where = `Publish ${JSON.stringify(seen).slice(0, 400)}`;
          const outcome = await call('Publish', request);
          const size = Buffer.byteLength(JSON.stringify(seen));
          if (outcome.ok) {
            ledger.count('OK');
            if (size > BODY_LIMIT) throw new Error(`${where}: accepted a ${size}-byte event, over the 256 KiB limit`);
            const problem = obviousEnvelopeProblem(seen, now, TTL_MS);
            if (problem) throw new Error(`${where}: accepted although ${problem}`);
            if (seen.event_id !== undefined && outcome.response.event_id !== seen.event_id)
              throw new Error(`${where}: answered event_id ${outcome.response.event_id}`);
            ledger.acceptedEventIds.add(outcome.response.event_id);
          } else {
            const code = expectClientError(outcome, where);
            if (size > BODY_LIMIT + 4_096 && code !== 'payload_too_large')
              throw new Error(`${where}: a ${size}-byte event answered ${code}, not payload_too_large`);
            ledger.rejectedEventIds.add(eventId);
            ledger.rejectedTenants.add(tenantId);
          }
        },
      ),
      550,
    );
  });

  it('accepts valid envelopes of every catalogue type and stores them as sent', async () => {
    await assertProperty(
      fc.asyncProperty(validEnvelopeArb, async (valid) => {
        const { value: envelope } = withFreshTags(envelopeOf(valid));
        const request = publishRequest(envelope);
        const outcome = await call('Publish', request);
        if (!outcome.ok)
          throw new Error(
            `a valid ${valid.definition.name} envelope answered ${status[outcome.code]} ${outcome.message}; sent ${JSON.stringify(envelope).slice(0, 300)}`,
          );
        ledger.count('OK');
        expect(outcome.response).toMatchObject({ deliveries: [], replayed: false });
        if (valid.withEventId) expect(outcome.response.event_id).toBe(envelope.event_id);
        ledger.acceptedEventIds.add(outcome.response.event_id);
        storedAsSent.set(outcome.response.event_id, envelope);
      }),
      100,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

const ulidLike = fc.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/);
const randomId = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 3 },
  { arbitrary: unicodeText, weight: 2 },
  {
    arbitrary: fc
      .tuple(fc.constantFrom('evt_', 'whdlv_', 'whsub_', 'redrv_', 'WHDLV_', ''), ulidLike)
      .map(([p, u]) => p + u),
    weight: 2,
  },
  { arbitrary: fc.constantFrom(...UNSTORABLE_STRINGS), weight: 1 },
  { arbitrary: oversizeArb.map(expandOversize), weight: 1 },
  { arbitrary: fc.constantFrom('', ' ', 'null', '%00', '../../etc/passwd', "' OR 1=1 --", '*', '%'), weight: 1 },
);

describe('GetEvent, GetDelivery, CancelDelivery, RetryDelivery, RedriveDeadLetter', () => {
  const request = fc.oneof(
    randomId.map((id) => ['GetEvent', { event_id: id }] as const),
    randomId.map((id) => ['GetDelivery', { id }] as const),
    fc
      .tuple(randomId, fc.oneof(fc.constant(''), anyText, oversizeArb.map(expandOversize)))
      .map(([id, reason]) => ['CancelDelivery', { id, reason }] as const),
    randomId.map((id) => ['RetryDelivery', { id }] as const),
    randomId.map((id) => ['RedriveDeadLetter', { id }] as const),
  );

  it('answers random, malformed, over-long and NUL ids with NOT_FOUND or INVALID_ARGUMENT', async () => {
    await assertProperty(
      fc.asyncProperty(request, async ([method, body]) => {
        const outcome = await call(method, body);
        expectClientError(outcome, `${method} ${JSON.stringify(body).slice(0, 300)}`);
        if (!outcome.ok && ![status.NOT_FOUND, status.INVALID_ARGUMENT].includes(outcome.code))
          throw new Error(`${method}: ${status[outcome.code]} for a random id`);
      }),
      450,
    );
  });
});

describe('ListDeliveries', () => {
  const good = {
    tenant_id: fc.constantFrom('tnt_acme', 'a', 'tnt_x.y:z'),
    status: fc.constantFrom(...DELIVERY_STATUSES),
    event_type: fc.constantFrom(...EVENT_TYPES),
    subscription_id: ulidLike.map((u) => `whsub_${u}`),
    cursor: fc
      .tuple(fc.constantFrom('whdlv', 'whsub'), ulidLike)
      .map(([p, u]) => Buffer.from(`${p}_${u}`).toString('base64url')),
  };
  const bad = fc.oneof(
    anyText,
    eventTypeNearMiss,
    badTenantId,
    fc.constantFrom('lost', 'DELIVERED', 'whsub_', 'whsub_abc', 'bogus', '===='),
    oversizeArb.filter((o) => o.oversize <= 70_000).map(expandOversize),
  );
  const field = (name: keyof typeof good) => fc.option(fc.oneof(good[name], bad), { nil: undefined });
  const filters = fc.record(
    {
      tenant_id: field('tenant_id'),
      status: field('status'),
      event_type: field('event_type'),
      subscription_id: field('subscription_id'),
      limit: fc.oneof(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: -2_147_483_648, max: 2_147_483_647 }),
        fc.constantFrom(0, -1, 201, 2_147_483_647),
      ),
      cursor: field('cursor'),
    },
    { requiredKeys: [] },
  );

  it('answers any mix of good and bad filters, limits and cursors with OK or INVALID_ARGUMENT', async () => {
    await assertProperty(
      fc.asyncProperty(filters, async (request) => {
        const outcome = await call('ListDeliveries', request);
        if (outcome.ok) {
          ledger.count('OK');
          if (!Array.isArray(outcome.response.deliveries) || typeof outcome.response.next_cursor !== 'string')
            throw new Error(`ListDeliveries ${JSON.stringify(request)}: OK without a page`);
        } else {
          expectClientError(outcome, `ListDeliveries ${JSON.stringify(request).slice(0, 300)}`);
          if (outcome.code !== status.INVALID_ARGUMENT) throw new Error(`ListDeliveries: ${status[outcome.code]}`);
        }
      }),
      350,
    );
  });
});

describe('authentication', () => {
  const key = fc.oneof(
    fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, '').trim()),
    fc.constantFrom('iaw_tk_0123456789abcdef', 'iaw_sk_wrong'),
  );
  it('answers a missing or garbage key with UNAUTHENTICATED unauthorized on every method', async () => {
    await assertProperty(
      fc.asyncProperty(
        fc.constantFrom(
          'Publish',
          'GetEvent',
          'GetDelivery',
          'ListDeliveries',
          'CancelDelivery',
          'RetryDelivery',
          'RedriveDeadLetter',
        ),
        fc.option(key, { freq: 8 }),
        async (method, apiKey) => {
          if (apiKey === stack.apiKey) return;
          const outcome = await call(method, {}, apiKey);
          expect(expectClientError(outcome, `${method} with key ${JSON.stringify(apiKey)}`)).toBe('unauthorized');
          expect(outcome.ok ? undefined : outcome.code).toBe(status.UNAUTHENTICATED);
        },
      ),
      60,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('regressions found by the properties', () => {
  const user = { fields: { user: { structValue: { fields: { id: { stringValue: 'usr_1' } } } } } };
  const publish = (extra: Record<string, unknown>) =>
    call('Publish', { event_type: 'user.updated', tenant: { id: freshTenant() }, data: user, ...extra });

  it('a 1 MB id gets NOT_FOUND with a bounded message (was a status too large for its trailers: the call hung until its deadline, and the next calls on the connection too)', async () => {
    const started = Date.now();
    const outcome = await call('GetEvent', { event_id: 'e'.repeat(1_000_000) });
    expect(expectClientError(outcome, 'GetEvent 1 MB')).toBe('event_not_found');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(expectClientError(await call('GetDelivery', { id: 'whdlv_next' }), 'the next call')).toBe(
      'delivery_not_found',
    );
  });

  it('validation details too large for a trailer are cut to what fits (10,000 wrong items)', async () => {
    const changed = { listValue: { values: Array.from({ length: 10_000 }, () => ({ numberValue: 1 })) } };
    const outcome = await publish({ data: { fields: { ...user.fields, changed_fields: changed } } });
    expect(expectClientError(outcome, 'Publish 10,000 wrong items')).toBe('invalid_event_data');
    const details = outcome.ok ? [] : JSON.parse(String(outcome.error.metadata.get('error-details-bin')[0] ?? '[]'));
    expect(details.length).toBeGreaterThan(0);
    expect(details.length).toBeLessThan(10_000);
  });

  it('an id with NUL is INVALID_ARGUMENT invalid_id on every id method (was INTERNAL from Postgres)', async () => {
    for (const [method, request] of [
      ['GetEvent', { event_id: 'evt_\u0000' }],
      ['GetDelivery', { id: 'whdlv_\u0000' }],
      ['CancelDelivery', { id: '\u0000' }],
      ['RetryDelivery', { id: 'a\u0000b' }],
      ['RedriveDeadLetter', { id: '\u0000' }],
    ] as const) {
      const outcome = await call(method, request);
      expect([method, expectClientError(outcome, method), outcome.ok ? 0 : outcome.code]).toEqual([
        method,
        'invalid_id',
        status.INVALID_ARGUMENT,
      ]);
    }
  });

  it('an event over 256 KiB is INVALID_ARGUMENT payload_too_large, as REST answers 413 (was stored)', async () => {
    const eventId = `evt_grpc_big_${Date.now()}`;
    const outcome = await publish({
      event_id: eventId,
      data: { fields: { ...user.fields, blob: { stringValue: 'x'.repeat(300_000) } } },
    });
    expect(expectClientError(outcome, 'Publish 300 KB')).toBe('payload_too_large');
    expect((await pool.query('SELECT 1 FROM events WHERE id = $1', [eventId])).rowCount).toBe(0);
  });

  it('NaN, Infinity, NUL, a leap second are INVALID_ARGUMENT validation_failed (were INTERNAL: the content hash refused NaN and Infinity, Postgres refused NUL, toISOString threw)', async () => {
    for (const extra of [
      { data: { fields: { ...user.fields, x: { numberValue: Infinity } } } },
      { data: { fields: { ...user.fields, x: { numberValue: NaN } } } },
      { tenant: { id: freshTenant(), slug: 'a\u0000' } },
      { occurred_at: `${new Date().toISOString().slice(0, 10)}T23:59:60Z` },
    ]) {
      expect(expectClientError(await publish(extra), `Publish ${JSON.stringify(extra)}`)).toBe('validation_failed');
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('after the run', () => {
  it('still answers a valid call, and the database holds nothing from a rejected publish and every accepted one as sent', async () => {
    const tenantId = freshTenant();
    const final = await call('Publish', {
      event_id: `evt_grpc_final_${Date.now()}`,
      event_type: 'user.signed_up',
      tenant: { id: tenantId },
      data: toStruct({ user: { id: 'usr_final' } }),
    });
    if (!final.ok) throw new Error(`the final valid Publish failed: ${status[final.code]} ${final.message}`);
    const event = await call('GetEvent', { event_id: final.response.event_id });
    expect(event.ok && event.response.tenant.id).toBe(tenantId);

    console.log(
      `gRPC: ${ledger.rejectedEventIds.size} rejected and ${ledger.acceptedEventIds.size} accepted publishes`,
    );
    expect(ledger.rejectedEventIds.size).toBeGreaterThan(0);
    await expectOnlyAcceptedEventsStored(pool, ledger);
    await expectEventsStoredAsSent(pool, storedAsSent);
  });
});
