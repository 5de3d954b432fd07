import fc from 'fast-check';
import { EVENT_TYPES, EventType } from '../../libs/contracts/catalogue';
import { eventTypeDefinition } from '../../libs/contracts/event-data-schemas';
import { derivedOrderingKey, ORDERING_KEY_PATTERN } from '../../libs/contracts/ordering-key';
import { assertProperty } from '../property/support';

/** The entity each category is ordered by, and the field of `data` that names it. */
const ENTITY: Record<string, { kind: string; field: string } | undefined> = {
  user: { kind: 'user', field: 'user' },
  mfa: { kind: 'user', field: 'user' },
  application: { kind: 'application', field: 'application' },
  federation: { kind: 'connection', field: 'connection' },
  security: { kind: 'user', field: 'user' },
};

const entityOf = (type: EventType) => ENTITY[type.split('.')[0]];
/** The catalogue's example of the type, its entity (if the example names one) given this id. */
function exampleWith(type: EventType, id: string): Record<string, unknown> {
  const example = structuredClone(eventTypeDefinition(type).example) as Record<string, unknown>;
  const entity = entityOf(type);
  if (entity && example[entity.field] !== undefined)
    example[entity.field] = { ...(example[entity.field] as object), id };
  return example;
}

const typeArbitrary = fc.constantFrom(...EVENT_TYPES);
/** Ids of any shape a publisher may send: plain ones, long ones, spaces, control characters, any Unicode. */
const idArbitrary = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
  fc.string({ minLength: 1, maxLength: 256, unit: 'binary' }),
  fc.string({ minLength: 240, maxLength: 256 }),
);

describe('the ordering key the catalogue derives', () => {
  it('orders every user.*, mfa.* and security.* example by its user, application.* by the application, federation.* by the connection, and webhook.* not at all', () => {
    const keys = Object.fromEntries(
      EVENT_TYPES.map((type) => [
        type,
        derivedOrderingKey(type, eventTypeDefinition(type).example as Record<string, unknown>),
      ]),
    );
    for (const type of EVENT_TYPES) {
      const entity = entityOf(type);
      const named = entity && (eventTypeDefinition(type).example as Record<string, { id: string }>)[entity.field];
      expect([type, keys[type]]).toEqual([type, named ? `${entity.kind}:${named.id}` : null]);
    }
    // The one catalogue type whose example names none of these entities: a breach incident is about the tenant.
    expect(EVENT_TYPES.filter((type) => keys[type] === null && !type.startsWith('webhook.'))).toEqual([
      'security.breach_incident_opened',
    ]);
  });

  it('is, for every catalogue type and any entity id, a header-safe key of at most 256 characters: kind:id, or kind:sha256 of an id that would not fit', async () => {
    await assertProperty(
      fc.property(typeArbitrary, idArbitrary, (type, id) => {
        const key = derivedOrderingKey(type, exampleWith(type, id));
        const entity = entityOf(type);
        if (
          entity === undefined ||
          (eventTypeDefinition(type).example as Record<string, unknown>)[entity.field] === undefined
        )
          return key === null;
        const plain = `${entity.kind}:${id}`;
        if (key === null || !ORDERING_KEY_PATTERN.test(key)) return false;
        return ORDERING_KEY_PATTERN.test(plain)
          ? key === plain
          : new RegExp(`^${entity.kind}:sha256:[0-9a-f]{64}$`).test(key);
      }),
      400,
    );
  });

  it('never gives two different entity ids of one type the same key', async () => {
    await assertProperty(
      fc.property(typeArbitrary, idArbitrary, idArbitrary, (type, first, second) => {
        fc.pre(first !== second && entityOf(type) !== undefined);
        const a = derivedOrderingKey(type, exampleWith(type, first));
        return a === null || a !== derivedOrderingKey(type, exampleWith(type, second));
      }),
      400,
    );
  });

  it('gives no key to data that names no entity id (absent, empty, not a string)', () => {
    for (const data of [{}, { user: {} }, { user: { id: '' } }, { user: { id: 7 } }, { user: null }, { user: 'usr_1' }])
      expect(derivedOrderingKey('user.updated', data)).toBeNull();
  });
});
