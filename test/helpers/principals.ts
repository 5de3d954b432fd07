import type { Principal } from '../../apps/api/src/auth/principal';

/** Callers as the api's auth guard hands them to a service: a service key, and a tenant's own key. */
export const serviceKey = (actor = 'service:test'): Principal => ({ kind: 'service', actor });

export const tenantKey = (tenantId: string): Principal => ({
  kind: 'tenant',
  tenantId,
  via: 'api_key',
  credentialId: 'key_1',
  actor: 'key:key_1',
});
