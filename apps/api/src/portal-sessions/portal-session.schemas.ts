import { dateTime, objectOf } from '../common/schema-parts';

/** A new portal session: the one-time URL an admin console opens (in a tab or an iframe). */
export const createdPortalSessionSchema = objectOf({
  id: { type: 'string', pattern: '^psn_', description: 'revoke the session with this id' },
  tenant_id: { type: 'string' },
  url: {
    type: 'string',
    pattern: '^/portal/#token=iaw_pt_',
    description:
      'relative to the API: open <api origin> + url, once, before expires_at; ' +
      'the token travels in the fragment, which browsers never send to a server or in a Referer',
  },
  created_at: dateTime,
  expires_at: { ...dateTime, description: 'the token must be exchanged before this, and the session ends then' },
});

/** What the portal's exchange (POST /portal/session) takes. */
export const exchangeTokenSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['token'],
  properties: { token: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;
