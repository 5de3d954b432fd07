import { createPortalClient, type operations, type Schemas } from '@intelliauth/webhooks-client';

export const api = createPortalClient();
export type { operations, Schemas };

/** An error answer of the API, as the portal shows it: the code and the message. */
export class ApiFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The data of an openapi-fetch answer, or an ApiFailure carrying the API's error code and message. */
export async function ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) {
    const body = (error ?? {}) as { error?: { code?: string; message?: string } };
    throw new ApiFailure(body.error?.code ?? `http_${response.status}`, body.error?.message ?? response.statusText);
  }
  return data as T;
}

/** The portal's own session routes (outside /v1 and the OpenAPI document). */
export async function portalSession(
  method: 'GET' | 'POST' | 'DELETE',
  body?: unknown,
): Promise<{ id: string; tenant_id: string }> {
  const response = await fetch('/portal/session', {
    method,
    credentials: 'same-origin',
    headers: { 'x-intelliauth-portal': '1', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = response.status === 204 ? {} : await response.json();
  if (!response.ok)
    throw new ApiFailure(answer.error?.code ?? `http_${response.status}`, answer.error?.message ?? response.statusText);
  return answer;
}
