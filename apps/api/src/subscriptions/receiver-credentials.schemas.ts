import { MAX_HEADER_VALUE_LENGTH, MAX_RECEIVER_HEADERS } from '../../../../libs/contracts/receiver-credentials';
import { nullableDateTime, nullableString, objectOf } from '../common/schema-parts';

// What a subscription's receiver asks of each attempt besides the signature: its headers, OAuth2, mutual TLS.

const headerValue = { type: 'string', maxLength: MAX_HEADER_VALUE_LENGTH } as const;
const headerSetting = {
  anyOf: [
    { ...headerValue, description: 'the value, kept secret: answers show it masked' },
    {
      type: 'object',
      additionalProperties: false,
      required: ['value'],
      properties: {
        value: headerValue,
        secret: { type: 'boolean', description: 'false: answers show the value; true (the default): masked' },
      },
    },
  ],
} as const;
const headersDescription =
  `name -> value, added to every attempt (at most ${MAX_RECEIVER_HEADERS}); values are sealed at rest and shown ` +
  'masked unless set with secret false. Refused: Host, Content-Length, Content-Type, Transfer-Encoding, ' +
  'Connection, X-IntelliAuth-*, webhook-*, and CR or LF anywhere';
const oauth2 = {
  type: 'object',
  additionalProperties: false,
  required: ['token_url', 'client_id', 'client_secret'],
  description:
    'OAuth2 client credentials (RFC 6749 4.4): each attempt carries Authorization: Bearer <token>, the token fetched ' +
    'from token_url and shared by every worker until shortly before it expires',
  properties: {
    token_url: {
      type: 'string',
      minLength: 1,
      maxLength: 2048,
      description: 'the token endpoint; judged by the same outbound rules as receiver URLs',
    },
    client_id: { type: 'string', minLength: 1, maxLength: 512 },
    client_secret: { type: 'string', minLength: 1, maxLength: 4096, description: 'sealed at rest, never answered' },
    scope: { type: 'string', minLength: 1, maxLength: 2048 },
    audience: { type: 'string', minLength: 1, maxLength: 2048 },
    client_auth: {
      type: 'string',
      enum: ['basic', 'body'],
      description: 'how the client authenticates to the token endpoint: HTTP Basic (the default) or in the form body',
    },
  },
} as const;
const pem = (maxLength: number, description: string) =>
  ({ type: 'string', minLength: 1, maxLength, description }) as const;
const tlsClient = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  description:
    'mutual TLS with https:// receivers: a client certificate and its key (both or neither), a CA bundle, or both',
  properties: {
    certificate: pem(32_768, 'PEM: the client certificate, then any intermediates'),
    private_key: pem(32_768, 'PEM: its private key (unencrypted); sealed at rest, never answered'),
    ca: pem(131_072, "PEM bundle the receiver's certificate is verified by instead of the system's roots"),
  },
} as const;
const nullable = <T extends object>(schema: T) => ({ anyOf: [schema, { type: 'null' }] }) as const;

/** In a create. */
export const receiverCredentials = {
  headers: {
    type: 'object',
    maxProperties: MAX_RECEIVER_HEADERS,
    additionalProperties: headerSetting,
    description: headersDescription,
  },
  oauth2,
  tls_client: tlsClient,
} as const;

/** In an update: null removes. */
export const receiverCredentialChanges = {
  headers: {
    type: ['object', 'null'],
    maxProperties: 2 * MAX_RECEIVER_HEADERS,
    additionalProperties: { anyOf: [...headerSetting.anyOf, { type: 'null' }] },
    description: `${headersDescription}. Changes the named headers only: a value sets one, null removes one; headers null removes them all`,
  },
  oauth2: { ...nullable(oauth2), description: 'replaces the OAuth2 credentials; null removes them' },
  tls_client: { ...nullable(tlsClient), description: 'replaces the client certificate; null removes it' },
} as const;

/** In an answer: never a secret. */
export const receiverCredentialsShown = {
  headers: {
    type: ['object', 'null'],
    additionalProperties: { type: 'string' },
    description: 'the receiver headers by name, secret values masked as ********; null: none',
  },
  oauth2: nullable(
    objectOf(
      {
        token_url: { type: 'string' },
        client_id: { type: 'string' },
        scope: nullableString,
        audience: nullableString,
        client_auth: { type: 'string', enum: ['basic', 'body'] },
      },
      [],
      'the OAuth2 client credentials but the secret; null: none',
    ),
  ),
  tls_client: nullable(
    objectOf(
      {
        subject: { ...nullableString, description: "the client certificate's subject; null: no certificate" },
        issuer: nullableString,
        expires_at: { ...nullableDateTime, description: "the certificate's notAfter" },
        ca: { type: 'boolean', description: "whether a CA bundle verifies the receiver instead of the system's roots" },
      },
      [],
      'the client certificate, as read from it (never its key); null: none',
    ),
  ),
} as const;
