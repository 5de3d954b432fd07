import { EVENT_TYPES, filterEntriesMatching, isEventType, isEventTypeFilter } from '../../libs/contracts/catalogue';

describe('event catalogue', () => {
  it('holds the seed’s 26 event types', () => {
    expect(EVENT_TYPES).toHaveLength(26);
    expect(new Set(EVENT_TYPES).size).toBe(26);
    expect(isEventType('security.breach_incident_opened')).toBe(true);
    expect(isEventType('user.teleported')).toBe(false);
  });

  it('accepts catalogue names, category wildcards and * as filters', () => {
    expect(['user.updated', 'mfa.*', '*', 'federation.*'].every(isEventTypeFilter)).toBe(true);
    expect(['user', 'billing.*', 'user.*.x', '**', 'USER.updated', ''].some(isEventTypeFilter)).toBe(false);
  });

  it('matches an event type by exact name, its category and *', () => {
    expect(filterEntriesMatching('application.secret_rotated')).toEqual(['application.secret_rotated', 'application.*', '*']);
  });
});
