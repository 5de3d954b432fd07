/**
 * A typed client of the IntelliAuth Webhooks REST API: openapi-fetch over the types openapi-typescript generates
 * from the API's OpenAPI document (./schema.ts, from ../openapi.json). Paths, parameters, bodies and every
 * answer, errors included, are typed; a call answers `{ data }` on success or `{ error }` (the Error schema).
 */
import createClient, { type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './schema';

export type { components, operations, paths, webhooks } from './schema';

/** Every schema of the document by name: `Schemas['Delivery']`, `Schemas['UserSignedUpWebhook']`… */
export type Schemas = components['schemas'];

export interface WebhooksClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** Where the API listens, without /v1: `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** A service key or a tenant key (iaw_tk_…), sent as `Authorization: Bearer <key>`. */
  apiKey: string;
}

export function createWebhooksClient({ baseUrl, apiKey, headers, ...options }: WebhooksClientOptions) {
  return createClient<paths>({
    ...options,
    baseUrl,
    headers: { ...(headers as Record<string, string>), authorization: `Bearer ${apiKey}` },
  });
}

export type WebhooksClient = ReturnType<typeof createWebhooksClient>;

/**
 * The client a page of the tenant portal uses: same origin, no key. The browser sends the portal session's
 * httpOnly cookie, and every call adds the portal header without which the API ignores that cookie.
 */
export function createPortalClient(baseUrl = '') {
  return createClient<paths>({ baseUrl, credentials: 'same-origin', headers: { 'x-intelliauth-portal': '1' } });
}
