/** What kept a receiver's response from arriving, in a word (oauth_token: no access token for the request). */
export type NetworkFailure = 'timeout' | 'refused' | 'ssrf_refused' | 'network' | 'oauth_token';

/** An attempt's outcome in one bounded word (a metrics label): the status class of the answer, or why there was none. */
export type AttemptStatusClass = '2xx' | 'redirect' | '4xx' | '5xx' | 'other' | NetworkFailure;

export function attemptStatusClass(
  statusCode: number | null,
  networkFailure: NetworkFailure | null,
): AttemptStatusClass {
  if (statusCode === null) return networkFailure ?? 'network';
  if (statusCode >= 200 && statusCode < 300) return '2xx';
  if (statusCode >= 300 && statusCode < 400) return 'redirect';
  if (statusCode >= 400 && statusCode < 500) return '4xx';
  if (statusCode >= 500 && statusCode < 600) return '5xx';
  return 'other';
}

/** What kept a response from arriving, from the error undici (or the SSRF guard, or the egress proxy) raised. */
export function describeNetworkError(
  cause: unknown,
  presentedCertificate = false,
): { kind: NetworkFailure; error: string } {
  const error = cause as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = error.code ?? error.cause?.code;
  switch (code) {
    case 'ERR_OUTBOUND_REFUSED':
      // The SSRF guard's own message: which address, and why it is not allowed.
      return {
        kind: 'ssrf_refused',
        error: ((error.code === code ? error.message : error.cause?.message) ?? String(cause)).slice(0, 300),
      };
    case 'ERR_EGRESS_PROXY':
      return { kind: 'network', error: (error.code === code ? error.message : error.cause?.message) ?? String(cause) };
    case 'ECONNREFUSED':
      return { kind: 'refused', error: 'connection refused' };
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      // A receiver that refuses a client certificate after a TLS 1.3 handshake may close without an alert.
      if (presentedCertificate)
        return {
          kind: 'network',
          error: 'TLS error (closed without an answer after the handshake: was the client certificate refused?)',
        };
      return { kind: 'network', error: 'connection reset before a complete response' };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEOUT':
      return { kind: 'network', error: `DNS lookup failed (${code})` };
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { kind: 'timeout', error: 'connect timed out' };
    default:
      if (code?.startsWith('ERR_TLS') || code?.startsWith('CERT_') || code?.includes('SSL'))
        return { kind: 'network', error: `TLS error (${code})` };
      return { kind: 'network', error: `request failed: ${(error.message ?? String(cause)).slice(0, 300)}` };
  }
}
