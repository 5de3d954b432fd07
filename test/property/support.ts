import fc from 'fast-check';
import { randomInt } from 'node:crypto';
import { EVENT_TYPES, isOperationalEventType } from '../../libs/contracts/catalogue';
import { EVENT_TYPE_DEFINITIONS } from '../../libs/contracts/event-data-schemas';

/**
 * Shared by the REST and gRPC bad-input properties: fast-check settings, the arbitraries of bad (and good) values,
 * and the bookkeeping of which tagged requests were accepted or rejected, checked against Postgres at the end.
 */

/** The seed every run checks each property with, so a run compares with the last. */
const FIXED_SEED = 20261101;
/** A seed of this run, so each run tries values no earlier one did; FC_SEED replays one. */
const FRESH_SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : randomInt(2 ** 31);
if (!Number.isSafeInteger(FRESH_SEED)) throw new Error(`FC_SEED must be a whole number, not ${process.env.FC_SEED}`);
console.log(`fast-check seeds: ${FIXED_SEED} (fixed) and ${FRESH_SEED} (fresh; FC_SEED=${FRESH_SEED} replays it)`);

/**
 * Checks a property with the fixed seed and then the fresh one, numRuns in all (half each), so the suite's time
 * stays that of numRuns; fast-check names the seed and the path of a counterexample on failure.
 * PROPERTY_RUNS_SCALE multiplies numRuns for a longer soak.
 */
export async function assertProperty<T>(
  property: fc.IAsyncPropertyWithHooks<T> | fc.IPropertyWithHooks<T>,
  numRuns: number,
): Promise<void> {
  const scale = Number(process.env.PROPERTY_RUNS_SCALE ?? '1');
  const runs = Math.max(2, Math.round(numRuns * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
  await fc.assert(property, { seed: FIXED_SEED, numRuns: Math.ceil(runs / 2) });
  await fc.assert(property, { seed: FRESH_SEED, numRuns: Math.floor(runs / 2) });
}

// ---------------------------------------------------------------------------------------------------------------
// Tags: every generated request that could store something names a tenant and an event id no other request uses.
// Generators emit the placeholders below; each execution (including fast-check's shrinking re-runs) swaps in fresh
// values, so a shrunk case never collides with an earlier one (which would be a 409 or an idempotent replay).

export const TENANT_MARK = 'tnt_MARKTENANT';
export const EVENT_MARK = 'evt_MARKEVENT';
const runTag = `p${process.pid.toString(36)}${Date.now().toString(36)}`;
let serial = 0;
export const freshTenant = (): string => `tnt_${runTag}_${(++serial).toString(36)}`;
export const freshEventId = (): string => `evt_${runTag}_${(++serial).toString(36)}`;
/** A prefix every fresh tenant and event id carries, to find all of this run's rows. */
export const RUN_TAG = runTag;

/** Replaces the placeholders anywhere in a value (strings and keys), returning the values that went in. */
export function withFreshTags<T>(value: T): { value: T; tenantId: string; eventId: string } {
  const tenantId = freshTenant();
  const eventId = freshEventId();
  const swap = (text: string) => text.split(TENANT_MARK).join(tenantId).split(EVENT_MARK).join(eventId);
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return swap(node);
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object' && !(node instanceof Uint8Array)) {
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(node))
        Object.defineProperty(out, swap(key), {
          value: walk(child),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      return out;
    }
    return node;
  };
  return { value: walk(value) as T, tenantId, eventId };
}

/** The same for JSON text (which may nest deeper than JSON.stringify or a recursive walk could handle). */
export function tagText(text: string): { text: string; tenantId: string; eventId: string } {
  const tenantId = freshTenant();
  const eventId = freshEventId();
  return { text: text.split(TENANT_MARK).join(tenantId).split(EVENT_MARK).join(eventId), tenantId, eventId };
}

/** What the server receives of a JS string sent as UTF-8: lone surrogates become U+FFFD on the way. */
export const asSentOverHttp = (text: string): string => Buffer.from(text, 'utf8').toString('utf8');

/** Which tagged requests the API accepted and which it rejected; the database must agree. */
export class Ledger {
  readonly acceptedEventIds = new Set<string>();
  readonly rejectedEventIds = new Set<string>();
  readonly rejectedTenants = new Set<string>();
  readonly acceptedTenants = new Set<string>();
  readonly statuses = new Map<string, number>();
  readonly codes = new Map<string, number>();
  requests = 0;

  count(status: number | string, code?: string): void {
    this.requests += 1;
    this.statuses.set(String(status), (this.statuses.get(String(status)) ?? 0) + 1);
    if (code) this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
  }

  summary(): string {
    const sorted = (map: Map<string, number>) =>
      [...map.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k}×${v}`)
        .join(' ');
    return `${this.requests} requests; statuses ${sorted(this.statuses)}; codes ${sorted(this.codes)}`;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The error contract.

export const ERROR_CODE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
export const MAX_MESSAGE_LENGTH = 1_000;

/** Throws (so the property fails with this text) unless `body` is `{ error: { code, message, details? } }`. */
export function checkErrorBody(body: unknown, where: string): string {
  const fail = (why: string): never => {
    throw new Error(`${where}: ${why}; body ${JSON.stringify(body)?.slice(0, 500)}`);
  };
  if (body === null || typeof body !== 'object' || Array.isArray(body)) fail('the error body is not an object');
  const outer = body as Record<string, unknown>;
  if (Object.keys(outer).join() !== 'error') fail('the error body has other keys than "error"');
  const error = outer.error as Record<string, unknown>;
  if (error === null || typeof error !== 'object') fail('"error" is not an object');
  const extra = Object.keys(error).filter((key) => !['code', 'message', 'details'].includes(key));
  if (extra.length > 0) fail(`"error" has unexpected keys ${extra.join(', ')}`);
  if (typeof error.code !== 'string' || !ERROR_CODE.test(error.code))
    fail('error.code is not a non-empty snake_case string');
  if (typeof error.message !== 'string' || error.message.trim().length < 10)
    fail('error.message is missing or too short to say what to fix');
  if ((error.message as string).length > MAX_MESSAGE_LENGTH)
    fail(`error.message is ${(error.message as string).length} characters long`);
  return error.code as string;
}

// ---------------------------------------------------------------------------------------------------------------
// Strings.

/** Strings Postgres text cannot hold or UTF-8 cannot encode, which the API must refuse rather than fail on. */
export const UNSTORABLE_STRINGS = ['\u0000', 'a\u0000b', '\ud800', 'x\udc00', '\udfff\ud800', `${'\u0000'.repeat(3)}`];
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const STORABLE = /^(?:[^\u0000\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/;
export const isStorable = (text: string): boolean => STORABLE.test(text);
/** Every node of a JSON-like value, with its key (iterative: generated values nest thousands of levels). */
function* nodes(root: unknown): Generator<{ key: string | undefined; value: unknown }> {
  const pending: Array<{ key: string | undefined; value: unknown }> = [{ key: undefined, value: root }];
  while (pending.length > 0) {
    const node = pending.pop() as { key: string | undefined; value: unknown };
    yield node;
    if (node.value !== null && typeof node.value === 'object')
      for (const [key, value] of Object.entries(node.value)) pending.push({ key, value });
  }
}

/** True when every string and key in a JSON-like value is storable and every number finite. */
export function isCleanJson(root: unknown): boolean {
  for (const { key, value } of nodes(root)) {
    if (key !== undefined && !isStorable(key)) return false;
    if (typeof value === 'string' && !isStorable(value)) return false;
    if (typeof value === 'number' && !Number.isFinite(value)) return false;
  }
  return true;
}

export const unicodeText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.constantFrom('ünïcödé', '名前', '🙂🙃', 'e\u0301', '\u202etxt.exe', 'ﬁ', 'İ', '\u200b', '\ufeff', 'Ω≈ç√', 'ж'),
  fc.constantFrom(...UNSTORABLE_STRINGS),
);

export const anyText = fc.oneof(
  { arbitrary: fc.string({ maxLength: 30 }), weight: 3 },
  { arbitrary: unicodeText, weight: 3 },
  {
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '\t\n',
      'null',
      'undefined',
      'true',
      '0',
      '-1',
      '1e400',
      'NaN',
      '[]',
      '{}',
      '%00',
      '%',
      '../..',
      '<script>',
      "' OR 1=1 --",
      '${jndi:x}',
    ),
    weight: 2,
  },
);

/** A string of exactly `length` copies of `unit` (built at execution, so counterexamples print the recipe). */
export interface Oversize {
  oversize: number;
  unit: string;
}
export const oversizeArb: fc.Arbitrary<Oversize> = fc.record({
  oversize: fc.constantFrom(65, 101, 129, 257, 321, 501, 1025, 2049, 4097, 70_000, 300_000),
  unit: fc.constantFrom('x', 'é', '🙂', '%', ' '),
});
export const expandOversize = (o: Oversize): string =>
  o.unit.repeat(Math.ceil(o.oversize / o.unit.length)).slice(0, o.oversize);

// ---------------------------------------------------------------------------------------------------------------
// Near misses of the API's own vocabulary.

const HOMOGLYPHS: Record<string, string> = { e: 'е', a: 'а', o: 'о', p: 'р', c: 'с' }; // Cyrillic look-alikes
const nearMiss = (value: string, how: number): string => {
  switch (how) {
    case 0:
      return value.toUpperCase();
    case 1:
      return `${value} `;
    case 2:
      return ` ${value}`;
    case 3:
      return value.slice(0, -1);
    case 4:
      return `${value}s`;
    case 5:
      return value.replace('.', '_');
    case 6:
      return value.replace('.', '..');
    case 7:
      return value.replace(/[eaopc]/, (c) => HOMOGLYPHS[c]);
    case 8:
      return `${value}\u0000`;
    case 9:
      return `${value.split('.')[0]}.`;
    case 10:
      return `.${value.split('.')[1] ?? ''}`;
    case 11:
      return value.replace('.', '/');
    case 12:
      return `${value}.extra`;
    case 13:
      return value.replace('_', '-');
    default:
      return `${value}\n`;
  }
};

export const eventTypeNearMiss = fc.oneof(
  fc.tuple(fc.constantFrom(...EVENT_TYPES), fc.integer({ min: 0, max: 14 })).map(([type, how]) => nearMiss(type, how)),
  fc.constantFrom(
    '',
    '*',
    'user.*',
    '*.*',
    'user',
    'billing.invoice_paid',
    'user.teleported',
    'security.*',
    'USER.SIGNED_UP',
    'user.signed_up,user.updated',
  ),
  anyText,
);

export const badTenantId = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    'tnt acme',
    'tnt/acme',
    'tnt%20acme',
    'tnt?x=1',
    'tnt#1',
    'ténant',
    '租户',
    '🙂',
    'tnt\nx',
    'tnt\u0000',
    '\ud800',
    'a'.repeat(129),
    'tnt;drop table events',
    'tnt"x',
    "tnt'x",
    'tnt\\x',
  ),
  fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/^[A-Za-z0-9_.:-]{1,128}$/.test(s)),
  unicodeText.filter((s) => !/^[A-Za-z0-9_.:-]{1,128}$/.test(s)),
);

export const badEventId = fc.oneof(
  fc.constantFrom(
    '',
    'evt_',
    'evt',
    'msg_123',
    'EVT_123',
    'evt 123',
    'evt_a b',
    'evt_é',
    'evt_/x',
    `evt_${'a'.repeat(125)}`,
    'evt_\u0000',
    'evt_%00',
    'evt_🙂',
    'evt_.x',
  ),
  fc.string({ maxLength: 30 }).filter((s) => !/^evt_[A-Za-z0-9_-]{1,124}$/.test(s)),
);

/** Times that are not RFC 3339, or that JavaScript cannot represent (leap second, hour-only offsets). */
export const badDateText = fc.oneof(
  fc.constantFrom(
    '2026-13-01T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-05-17T24:00:00Z',
    '2026-05-17T08:60:00Z',
    '2026-05-17T08:00:00',
    '2026-05-17',
    '08:00:00Z',
    '17/05/2026 08:00',
    'yesterday',
    'now',
    '',
    '0',
    '-1',
    'NaN',
    'Infinity',
    '+275760-09-13T00:00:00.000Z',
    '-000001-01-01T00:00:00Z',
    '2026-05-17T08:00:00+24:00',
    '2026-05-17T08:00:00+05',
    '2026-05-17T08:00:00 +05:00',
    '2026-05-17T08:00:00.Z',
    '２０２６-05-17T08:00:00Z',
    '2026-05-17T08:00:00Z\u0000',
  ),
  // A leap second today passes ajv-formats' RFC 3339 check, but Date.parse cannot represent it.
  fc.constant('LEAP_SECOND_TODAY'),
  anyText,
);
export const expandDate = (text: string): string =>
  text === 'LEAP_SECOND_TODAY' ? `${new Date().toISOString().slice(0, 10)}T23:59:60Z` : text;

/** Valid RFC 3339 times outside the publish window (older than the TTL or more than 5 minutes ahead): 422. */
export const outOfWindowOffsetMs = fc.oneof(
  fc.integer({ min: 25 * 3_600_000, max: 3_650 * 86_400_000 }).map((ms) => -ms),
  fc.integer({ min: 6 * 60_000, max: 3_650 * 86_400_000 }),
);

// ---------------------------------------------------------------------------------------------------------------
// Valid envelopes.

/** No key a JSON parser guarding against prototype pollution refuses (Fastify answers those 400 invalid_json). */
export function hasPrototypeKey(root: unknown): boolean {
  for (const { key } of nodes(root)) if (key === '__proto__' || key === 'constructor') return true;
  return false;
}
/** An own `__proto__` key, or a `constructor` holding a `prototype`: what Fastify's JSON parser refuses. */
export function hasPollutionKey(root: unknown): boolean {
  for (const { key, value } of nodes(root)) {
    if (key === '__proto__') return true;
    if (
      key === 'constructor' &&
      value !== null &&
      typeof value === 'object' &&
      Object.prototype.hasOwnProperty.call(value, 'prototype')
    )
      return true;
  }
  return false;
}
export const SAFE_KEY = fc
  .string({ minLength: 1, maxLength: 12 })
  .filter(isStorable)
  .map((k) => `x_${k}`);
export const cleanJson = fc
  .jsonValue({ maxDepth: 3, stringUnit: 'grapheme' })
  .filter((v) => isCleanJson(v) && !hasPrototypeKey(v));

export interface ValidEnvelope {
  definition: (typeof EVENT_TYPE_DEFINITIONS)[number];
  withEventId: boolean;
  occurredOffsetMs: number | null;
  slug: string | null;
  actor: Record<string, unknown> | null;
  extraData: Record<string, unknown>;
}

export const validEnvelopeArb: fc.Arbitrary<ValidEnvelope> = fc.record({
  // Publishable types only: the operational ones (webhook.*) answer 422, as test/e2e/operational-events checks.
  definition: fc.constantFrom(
    ...EVENT_TYPE_DEFINITIONS.filter((definition) => !isOperationalEventType(definition.name)),
  ),
  withEventId: fc.boolean(),
  // within the publish window: at most the 24 h TTL old (with margin) and at most 5 minutes ahead (with margin)
  occurredOffsetMs: fc.option(fc.integer({ min: -23 * 3_600_000, max: 4 * 60_000 }), { nil: null }),
  slug: fc.option(
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((s) => isStorable(s) && [...s].length <= 128),
    { nil: null },
  ),
  actor: fc.option(
    fc.record(
      {
        kind: fc.constantFrom('user', 'admin', 'system', 'api_key', 'ünïcode'),
        id: fc.string({ maxLength: 40 }).filter(isStorable),
        email: fc.emailAddress(),
        ip: fc.ipV4(),
      },
      { requiredKeys: ['kind'] },
    ),
    { nil: null },
  ),
  extraData: fc.dictionary(SAFE_KEY, cleanJson, { maxKeys: 3 }),
});

/** The JSON envelope of a valid case, with the tag placeholders and an occurred_at relative to now. */
export function envelopeOf(valid: ValidEnvelope, now = Date.now()): Record<string, unknown> {
  const envelope: Record<string, unknown> = {};
  if (valid.withEventId) envelope.event_id = EVENT_MARK;
  envelope.event_type = valid.definition.name;
  if (valid.occurredOffsetMs !== null) envelope.occurred_at = new Date(now + valid.occurredOffsetMs).toISOString();
  envelope.tenant = valid.slug === null ? { id: TENANT_MARK } : { id: TENANT_MARK, slug: valid.slug };
  if (valid.actor !== null) envelope.actor = valid.actor;
  envelope.data = { ...structuredClone(valid.definition.example), ...valid.extraData };
  return envelope;
}

// ---------------------------------------------------------------------------------------------------------------
// Mutations of a valid envelope, kept as data so a counterexample prints what was done, not a 300 KB string.

export type Path = readonly string[];
export type Mutation =
  | { op: 'drop'; path: Path }
  | { op: 'set'; path: Path; value: unknown }
  | { op: 'oversize'; path: Path; size: Oversize }
  | { op: 'date'; text: string }
  | { op: 'window'; offsetMs: number }
  | { op: 'nest'; path: Path; depth: number; kind: 'array' | 'object' };

export const ENVELOPE_PATHS: Path[] = [
  ['event_id'],
  ['event_type'],
  ['occurred_at'],
  ['tenant'],
  ['tenant', 'id'],
  ['tenant', 'slug'],
  ['actor'],
  ['actor', 'kind'],
  ['actor', 'id'],
  ['actor', 'email'],
  ['data'],
  ['data', 'user'],
  ['data', 'user', 'id'],
  ['data', 'user', 'email'],
  ['data', 'application'],
  ['data', 'x_extra'],
  ['delivery'],
  ['colour'],
  ['tenant', 'colour'],
];

/** Values of the wrong type, shape or size, for any field. */
export const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 4 },
  { arbitrary: fc.constantFrom(null, true, false, 0, -0, -1, 1.5, [], {}, [null], { id: null }), weight: 3 },
  { arbitrary: fc.integer().map(String), weight: 1 }, // numbers as strings
  {
    arbitrary: fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, Number.MIN_VALUE, 2 ** 64, -(2 ** 63)),
    weight: 1,
  }, // huge numbers
  { arbitrary: unicodeText, weight: 3 },
  // own "__proto__" / "constructor.prototype" keys, as JSON.parse makes them
  {
    arbitrary: fc
      .constantFrom(
        '{"__proto__":{"polluted":true}}',
        '{"constructor":{"prototype":{"polluted":true}}}',
        '{"a":{"__proto__":{"isAdmin":true}}}',
      )
      .map((text) => JSON.parse(text) as unknown),
    weight: 1,
  },
);

const valueFor = (path: Path): fc.Arbitrary<unknown> => {
  const key = path.join('.');
  if (key === 'event_type') return fc.oneof(eventTypeNearMiss, wrongValue);
  if (key === 'tenant.id') return fc.oneof(badTenantId, wrongValue);
  if (key === 'event_id') return fc.oneof(badEventId, wrongValue);
  if (key === 'occurred_at') return fc.oneof(badDateText.map(expandDate), wrongValue);
  return wrongValue;
};

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.constantFrom(...ENVELOPE_PATHS).map((path): Mutation => ({ op: 'drop', path })), weight: 2 },
  {
    arbitrary: fc
      .constantFrom(...ENVELOPE_PATHS)
      .chain((path) => valueFor(path).map((value): Mutation => ({ op: 'set', path, value }))),
    weight: 6,
  },
  {
    arbitrary: fc
      .tuple(fc.constantFrom(...ENVELOPE_PATHS), oversizeArb)
      .map(([path, size]): Mutation => ({ op: 'oversize', path, size })),
    weight: 2,
  },
  { arbitrary: badDateText.map((text): Mutation => ({ op: 'date', text })), weight: 1 },
  { arbitrary: outOfWindowOffsetMs.map((offsetMs): Mutation => ({ op: 'window', offsetMs })), weight: 1 },
  {
    arbitrary: fc
      .record({
        path: fc.constantFrom<Path>(['data', 'x_deep'], ['actor', 'x_deep'], ['data', 'user', 'x_deep']),
        depth: fc.constantFrom(5, 30, 60, 61, 62, 63, 64, 65, 100, 1_000, 5_000),
        kind: fc.constantFrom<'array' | 'object'>('array', 'object'),
      })
      .map((m): Mutation => ({ op: 'nest', ...m })),
    weight: 1,
  },
);

/** Nesting is spliced into the JSON text: JSON.stringify itself overflows the stack at a few thousand levels. */
const NEST_MARK = /"NEST§(\d+)§(array|object)"/g;
const nestedText = (depth: number, kind: string): string =>
  kind === 'array'
    ? `${'['.repeat(depth)}"bottom"${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}"bottom"${'}'.repeat(depth)}`;

/** The JSON text of a mutated envelope, deep nesting spliced in. */
export function renderJson(value: unknown): string {
  return JSON.stringify(value).replace(NEST_MARK, (_match, depth: string, kind: string) =>
    nestedText(Number(depth), kind),
  );
}

/** Applies mutations to a copy of the envelope; a path whose parent is not an object is left alone. */
export function mutate(
  envelope: Record<string, unknown>,
  mutations: readonly Mutation[],
  now = Date.now(),
): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(envelope)) as Record<string, unknown>;
  const parentOf = (path: Path): Record<string, unknown> | undefined => {
    let node: unknown = copy;
    for (const key of path.slice(0, -1)) {
      if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
      node = (node as Record<string, unknown>)[key];
    }
    return node !== null && typeof node === 'object' && !Array.isArray(node)
      ? (node as Record<string, unknown>)
      : undefined;
  };
  const set = (path: Path, value: unknown) => {
    const parent = parentOf(path);
    if (parent)
      Object.defineProperty(parent, path[path.length - 1], {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  };
  for (const mutation of mutations) {
    switch (mutation.op) {
      case 'drop': {
        const parent = parentOf(mutation.path);
        if (parent) delete parent[mutation.path[mutation.path.length - 1]];
        break;
      }
      case 'set':
        set(mutation.path, mutation.value === undefined ? undefined : JSON.parse(JSON.stringify(mutation.value)));
        break;
      case 'oversize':
        set(mutation.path, expandOversize(mutation.size));
        break;
      case 'date':
        copy.occurred_at = expandDate(mutation.text);
        break;
      case 'window':
        copy.occurred_at = new Date(now + mutation.offsetMs).toISOString();
        break;
      case 'nest':
        set(mutation.path, `NEST§${mutation.depth}§${mutation.kind}`);
        break;
    }
  }
  return copy;
}

/** Percent-encodes every byte of the UTF-8 form except unreserved characters (lone surrogates become U+FFFD). */
export function percentEncode(text: string): string {
  return Array.from(Buffer.from(text, 'utf8'))
    .map((byte) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

/** Raw, possibly broken percent sequences for paths and query strings (not re-encoded). */
export const rawUrlGarbage = fc.constantFrom(
  '%',
  '%%',
  '%zz',
  '%E0%A4%A',
  '%ED%A0%80',
  '%C0%80',
  '%FF',
  '%00',
  '%2F',
  '%2e%2e',
  '%u0041',
  '%0A',
  '%23',
  '%3F',
);

// ---------------------------------------------------------------------------------------------------------------
// An independent oracle: what docs/api.md and the schemas say an envelope must be. It only answers when the answer
// is certain; anything it cannot judge (the per-type data schemas, dates right at the window's edge) is left open.

const codePoints = (text: string) => [...text].length;
const TENANT_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const EVENT_ID = /^evt_[A-Za-z0-9_-]{1,124}$/;
const ENVELOPE_KEYS = new Set(['event_id', 'event_type', 'occurred_at', 'tenant', 'actor', 'data']);

function depthOf(value: unknown): number {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop() as [unknown, number];
    if (node !== null && typeof node === 'object') {
      deepest = Math.max(deepest, depth + 1);
      for (const child of Object.values(node)) pending.push([child, depth + 1]);
    }
  }
  return deepest;
}

/** A reason the publish must be refused, or undefined when the envelope may well be fine. */
export function obviousEnvelopeProblem(body: unknown, now: number, ttlMs: number): string | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'not an object';
  const envelope = body as Record<string, unknown>;
  const unknown = Object.keys(envelope).filter((key) => !ENVELOPE_KEYS.has(key));
  if (unknown.length > 0) return `unknown field ${unknown[0]}`;
  if (depthOf(envelope) > 64) return 'nested too deeply';
  if (!isCleanJson(envelope)) return 'a string with NUL or a lone surrogate, or a non-finite number';
  if (typeof envelope.event_type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(envelope.event_type))
    return 'not a catalogue event type';
  const tenant = envelope.tenant as Record<string, unknown> | undefined;
  if (tenant === null || typeof tenant !== 'object' || Array.isArray(tenant)) return 'tenant missing or not an object';
  if (Object.keys(tenant).some((key) => key !== 'id' && key !== 'slug')) return 'unknown tenant field';
  if (typeof tenant.id !== 'string' || !TENANT_ID.test(tenant.id)) return 'bad tenant.id';
  if (
    'slug' in tenant &&
    (typeof tenant.slug !== 'string' || codePoints(tenant.slug) < 1 || codePoints(tenant.slug) > 128)
  )
    return 'bad tenant.slug';
  if ('event_id' in envelope && (typeof envelope.event_id !== 'string' || !EVENT_ID.test(envelope.event_id)))
    return 'bad event_id';
  if (envelope.data === null || typeof envelope.data !== 'object' || Array.isArray(envelope.data))
    return 'data missing or not an object';
  if ('actor' in envelope) {
    const actor = envelope.actor as Record<string, unknown>;
    if (actor === null || typeof actor !== 'object' || Array.isArray(actor)) return 'actor not an object';
    if (typeof actor.kind !== 'string' || codePoints(actor.kind) < 1 || codePoints(actor.kind) > 64)
      return 'bad actor.kind';
    if ('id' in actor && (typeof actor.id !== 'string' || codePoints(actor.id) > 256)) return 'bad actor.id';
    if ('email' in actor && (typeof actor.email !== 'string' || codePoints(actor.email) > 320))
      return 'bad actor.email';
  }
  if ('occurred_at' in envelope) {
    if (typeof envelope.occurred_at !== 'string') return 'occurred_at not a string';
    const at = Date.parse(envelope.occurred_at);
    if (
      !/^\d{4}-\d\d-\d\d[Tt\s]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d(:?\d\d)?)$/.test(envelope.occurred_at) ||
      Number.isNaN(at)
    )
      return 'occurred_at not an RFC 3339 time';
    if (at < now - ttlMs - 60_000 || at > now + 6 * 60_000) return 'occurred_at outside the publish window';
  }
  return undefined;
}
