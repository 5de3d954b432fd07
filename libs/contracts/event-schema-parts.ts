/** The parts the catalogue's data schemas and examples are built from. */

// The schemas name what receivers rely on and leave room for more: required ids, typed optional fields,
// additional properties allowed so the platform can add fields without breaking publishers.
export const id = { type: 'string', minLength: 1, maxLength: 256 };
export const text = { type: 'string', maxLength: 2048 };
export const object = (required: string[], properties: Record<string, unknown>) => ({
  type: 'object',
  required,
  properties,
  additionalProperties: true,
});

export const user = object(['id'], {
  id,
  email: { type: 'string', maxLength: 320 },
  name: text,
  created_at: { type: 'string', format: 'date-time' },
});
export const factor = object(['id', 'type'], {
  id,
  type: { type: 'string', enum: ['totp', 'sms', 'email', 'webauthn', 'push', 'backup_codes'] },
});
export const application = object(['id'], { id, name: text, client_id: text });
export const connection = object(['id'], {
  id,
  name: text,
  protocol: { type: 'string', enum: ['saml', 'oidc', 'ldap', 'scim'] },
});
export const ip = { type: 'string', maxLength: 64 };
export const at = { type: 'string', format: 'date-time' };
export const count = { type: 'integer', minimum: 0 };
export const subscription = object(['id'], { id });

export const exampleUser = {
  id: 'usr_01HZX3Q5M8Y2K7N4P6R9T0V1W2',
  email: 'anita@cymmetri.com',
  name: 'Anita Singh',
  created_at: '2026-05-17T08:00:00.000Z',
};
export const exampleApplication = {
  id: 'app_01HZX3Q5M8Y2K7N4P6R9T0V1W3',
  name: 'Payroll portal',
  client_id: 'payroll-portal',
};
export const exampleSubscription = { id: 'whsub_01HZX3Q5M8Y2K7N4P6R9T0V1W5' };
export const exampleConnection = { id: 'con_01HZX3Q5M8Y2K7N4P6R9T0V1W4', name: 'Corporate Azure AD', protocol: 'saml' };

export const userEvent = (
  description: string,
  extra: Record<string, unknown> = {},
  example: Record<string, unknown> = {},
) => ({
  description,
  dataSchema: object(['user'], { user, ...extra }),
  example: { user: exampleUser, ...example },
});
