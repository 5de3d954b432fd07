import {
  EVENT_TYPES,
  filterEntriesMatching,
  isEventType,
  isEventTypeFilter,
  isOperationalFilter,
  PUBLISHABLE_EVENT_TYPES,
} from '../../libs/contracts/catalogue';
import { EVENT_TYPE_DEFINITIONS } from '../../libs/contracts/event-data-schemas';
import { checkAgainstSchema } from '../../apps/api/src/common/validation';

describe('event catalogue', () => {
  it('holds the product contract’s 26 event types, which publishers send, and the 5 operational ones, which the service emits', () => {
    expect(EVENT_TYPES).toHaveLength(31);
    expect(new Set(EVENT_TYPES).size).toBe(31);
    expect(PUBLISHABLE_EVENT_TYPES).toHaveLength(26);
    expect(EVENT_TYPES.filter((type) => !PUBLISHABLE_EVENT_TYPES.includes(type))).toEqual([
      'webhook.subscription.disabled',
      'webhook.delivery.dead_lettered',
      'webhook.subscription.recovered',
      'webhook.certificate.expiring',
      'webhook.subscription.failing',
    ]);
    expect(isEventType('security.breach_incident_opened')).toBe(true);
    expect(isEventType('user.teleported')).toBe(false);
  });

  it('accepts catalogue names, category wildcards and * as filters', () => {
    expect(
      ['user.updated', 'mfa.*', '*', 'federation.*', 'webhook.*', 'webhook.delivery.dead_lettered'].every(
        isEventTypeFilter,
      ),
    ).toBe(true);
    expect(
      ['user', 'billing.*', 'user.*.x', '**', 'USER.updated', '', 'webhook.subscription.*'].some(isEventTypeFilter),
    ).toBe(false);
  });

  it('tells the filters that select operational events only', () => {
    expect(['webhook.*', 'webhook.subscription.disabled'].every(isOperationalFilter)).toBe(true);
    expect(['*', 'user.*', 'user.signed_up', 'webhook.teleported'].some(isOperationalFilter)).toBe(false);
  });

  it('matches an event type by exact name, its category and *; an operational one by name and webhook.* only', () => {
    expect(filterEntriesMatching('application.secret_rotated')).toEqual([
      'application.secret_rotated',
      'application.*',
      '*',
    ]);
    expect(filterEntriesMatching('webhook.subscription.disabled')).toEqual([
      'webhook.subscription.disabled',
      'webhook.*',
    ]);
  });

  it('gives every type an example that satisfies its own data schema', () => {
    for (const definition of EVENT_TYPE_DEFINITIONS) {
      expect(() =>
        checkAgainstSchema(definition.dataSchema, definition.example, 'data', 'invalid_event_data', definition.name),
      ).not.toThrow();
    }
  });
});
