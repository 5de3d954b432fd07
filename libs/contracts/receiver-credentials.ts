/**
 * What a receiver's front door may ask of every attempt besides the signature: headers of its own, an OAuth2
 * access token (client credentials, RFC 6749 section 4.4), a TLS client certificate. The forms here are opened
 * (secrets in clear): they live only in memory, on their way to a request.
 */

export interface ReceiverHeader {
  name: string;
  value: string;
}

export type OAuth2ClientAuth = 'basic' | 'body';

export interface OAuth2Credentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope: string | null;
  audience: string | null;
  /** How the client authenticates to the token endpoint: HTTP Basic, or client_id/client_secret in the form. */
  clientAuth: OAuth2ClientAuth;
}

export interface TlsClientCredentials {
  /** PEM: the client certificate (and its chain, if any) and its private key; null: none is presented. */
  certificate: string | null;
  privateKey: string | null;
  /** PEM bundle the receiver's certificate is verified by instead of the system's roots; null: the system's. */
  ca: string | null;
}

export interface ReceiverCredentials {
  headers: ReceiverHeader[];
  oauth2: OAuth2Credentials | null;
  tlsClient: TlsClientCredentials | null;
}

/** Custom headers per subscription, and the size of each name and value. */
export const MAX_RECEIVER_HEADERS = 20;
export const MAX_HEADER_NAME_LENGTH = 256;
export const MAX_HEADER_VALUE_LENGTH = 4096;

/** An HTTP field name (RFC 9110 token). */
export const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible ASCII, spaces and tabs inside: no CR, LF or other control character a request could be split by. */
export const HEADER_VALUE_PATTERN = /^[\x20-\x7e\t]*$/;

/** Headers the delivery itself sets or that frame the request: a receiver header may not replace them. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'content-type', 'transfer-encoding', 'connection']);
const RESERVED_PREFIXES = ['x-intelliauth-', 'webhook-'];

/** Why a header name may not be set on a subscription; undefined when it may. */
export function reservedHeaderReason(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (RESERVED_HEADERS.has(lower)) return `${name} is set by the delivery itself`;
  const prefix = RESERVED_PREFIXES.find((reserved) => lower.startsWith(reserved));
  if (prefix !== undefined) return `every ${prefix}* header is the delivery's own (signature, ids, timestamp)`;
  return undefined;
}
