import { createHash } from 'node:crypto';
import { EventType } from './catalogue';

/**
 * The ordering key of an event: the entity whose events a `per_entity` subscription receives one at a time, in
 * publish order. A publisher may name it (`ordering_key`); otherwise the catalogue derives it from the event's data.
 */

/** What a publisher's `ordering_key` may hold: visible ASCII (it travels as a header), 1 to 256 characters. */
export const ORDERING_KEY_PATTERN = /^[\x21-\x7e]{1,256}$/;
export const ORDERING_KEY_MAX_LENGTH = 256;

/** The header that tells a receiver which key a delivery was ordered under. */
export const ORDERING_KEY_HEADER = 'x-intelliauth-ordering-key';

/** The values of a subscription's `ordering` option. */
export const ORDERINGS = ['none', 'per_entity'] as const;
export type Ordering = (typeof ORDERINGS)[number];

/** Which entity of its data orders an event of each category; `security.*` follows the user it names. */
const ENTITY_OF_CATEGORY: Record<string, readonly [kind: string, field: string] | undefined> = {
  user: ['user', 'user'],
  mfa: ['user', 'user'],
  application: ['application', 'application'],
  federation: ['connection', 'connection'],
  security: ['user', 'user'],
};

/**
 * The key the catalogue gives an event: `<kind>:<id>` of the entity its category is about (`user:usr_1`), null when
 * its data names none (a `security.*` event about no user, the operational `webhook.*` events): such an event is
 * delivered unordered. An id that does not fit ORDERING_KEY_PATTERN is replaced by its SHA-256, so every derived
 * key can travel as a header and two different ids never share a key.
 */
export function derivedOrderingKey(eventType: EventType, data: Record<string, unknown>): string | null {
  const entity = ENTITY_OF_CATEGORY[eventType.split('.')[0]];
  if (entity === undefined) return null;
  const [kind, field] = entity;
  const named = data[field];
  const id = named !== null && typeof named === 'object' ? (named as Record<string, unknown>).id : undefined;
  if (typeof id !== 'string' || id.length === 0) return null;
  const key = `${kind}:${id}`;
  return ORDERING_KEY_PATTERN.test(key)
    ? key
    : `${kind}:sha256:${createHash('sha256').update(id, 'utf8').digest('hex')}`;
}
