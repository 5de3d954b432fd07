import { EVENT_TYPES, EventType } from './catalogue';
import {
  application,
  connection,
  exampleApplication,
  exampleConnection,
  exampleUser,
  factor,
  id,
  ip,
  object,
  text,
  user,
  userEvent,
} from './event-schema-parts';
import { OPERATIONAL_EVENT_DEFINITIONS } from './operational-event-data-schemas';

/** One catalogue entry: what the event means, the JSON Schema its `data` must satisfy, and an example `data`. */
export interface EventTypeDefinition {
  name: EventType;
  description: string;
  dataSchema: Record<string, unknown>;
  example: Record<string, unknown>;
}

const DEFINITIONS: Record<EventType, Omit<EventTypeDefinition, 'name'>> = {
  'user.signed_in': userEvent(
    'A user signed in.',
    { ip, session_id: id },
    { ip: '203.0.113.7', session_id: 'ses_01HZX' },
  ),
  'user.signed_out': userEvent(
    'A user signed out or the session ended.',
    { session_id: id },
    { session_id: 'ses_01HZX' },
  ),
  'user.sign_in_failed': userEvent(
    'A sign-in attempt failed.',
    { ip, reason: text },
    { ip: '203.0.113.7', reason: 'invalid_password' },
  ),
  'user.mfa_required': userEvent(
    'A sign-in asked the user for a second factor.',
    { factor },
    { factor: { id: 'fac_01', type: 'totp' } },
  ),
  'user.mfa_succeeded': userEvent(
    'The user passed the second factor.',
    { factor },
    { factor: { id: 'fac_01', type: 'totp' } },
  ),
  'user.mfa_failed': userEvent(
    'The user failed the second factor.',
    { factor, reason: text },
    { factor: { id: 'fac_01', type: 'totp' }, reason: 'code_expired' },
  ),
  'user.signed_up': userEvent('A user account was created.'),
  'user.updated': userEvent(
    'A user profile changed.',
    { changed_fields: { type: 'array', items: { type: 'string' } } },
    { changed_fields: ['name'] },
  ),
  'user.disabled': userEvent(
    'An admin disabled the user: end their sessions.',
    { reason: text },
    { reason: 'left the company' },
  ),
  'user.enabled': userEvent('An admin enabled the user again.'),
  'user.deleted': userEvent('The user was deleted.'),
  'user.email_verified': userEvent('The user verified their email address.'),
  'mfa.factor_added': userEvent(
    'The user enrolled a second factor.',
    { factor },
    { factor: { id: 'fac_02', type: 'webauthn' } },
  ),
  'mfa.factor_removed': userEvent(
    'A second factor was removed.',
    { factor },
    { factor: { id: 'fac_02', type: 'webauthn' } },
  ),
  'mfa.backup_codes_regenerated': userEvent('The user generated new backup codes; the old ones no longer work.'),
  'application.created': {
    description: 'An application was registered.',
    dataSchema: object(['application'], { application }),
    example: { application: exampleApplication },
  },
  'application.updated': {
    description: 'An application changed.',
    dataSchema: object(['application'], { application }),
    example: { application: exampleApplication },
  },
  'application.secret_rotated': {
    description: 'An application client secret was rotated.',
    dataSchema: object(['application'], {
      application,
      previous_secret_expires_at: { type: 'string', format: 'date-time' },
    }),
    example: { application: exampleApplication, previous_secret_expires_at: '2026-05-18T08:00:00.000Z' },
  },
  'application.disabled': {
    description: 'An application was disabled.',
    dataSchema: object(['application'], { application }),
    example: { application: exampleApplication },
  },
  'application.deleted': {
    description: 'An application was deleted.',
    dataSchema: object(['application'], { application }),
    example: { application: exampleApplication },
  },
  'federation.connection_added': {
    description: 'A federation (SSO) connection was added.',
    dataSchema: object(['connection'], { connection }),
    example: { connection: exampleConnection },
  },
  'federation.sso_completed': {
    description: 'A user completed single sign-on through a connection.',
    dataSchema: object(['connection', 'user'], { connection, user }),
    example: { connection: exampleConnection, user: exampleUser },
  },
  'federation.sso_failed': {
    description: 'A single sign-on attempt failed.',
    dataSchema: object(['connection'], { connection, reason: text }),
    example: { connection: exampleConnection, reason: 'assertion_expired' },
  },
  'security.brute_force_detected': {
    description: 'Repeated failed sign-ins from one source were detected.',
    dataSchema: object([], {
      ip,
      user,
      attempts: { type: 'integer', minimum: 1 },
      window_seconds: { type: 'integer', minimum: 1 },
    }),
    example: { ip: '198.51.100.23', user: { id: exampleUser.id }, attempts: 25, window_seconds: 300 },
  },
  'security.token_reuse_detected': {
    description: 'A refresh token was used twice; its family was revoked.',
    dataSchema: object([], { user, token_family_id: id, ip }),
    example: { user: { id: exampleUser.id }, token_family_id: 'tfam_01HZX', ip: '198.51.100.23' },
  },
  'security.breach_incident_opened': {
    description: 'A security incident was opened for the tenant.',
    dataSchema: object(['incident'], {
      incident: object(['id'], {
        id,
        severity: { type: 'string', enum: ['low', 'medium', 'high', 'critical'] },
        summary: text,
      }),
    }),
    example: { incident: { id: 'inc_01HZX', severity: 'high', summary: 'Credential stuffing from a known botnet' } },
  },
  ...OPERATIONAL_EVENT_DEFINITIONS,
};

export const EVENT_TYPE_DEFINITIONS: readonly EventTypeDefinition[] = EVENT_TYPES.map((name) => ({
  name,
  ...DEFINITIONS[name],
}));

export function eventTypeDefinition(name: EventType): EventTypeDefinition {
  return { name, ...DEFINITIONS[name] };
}
