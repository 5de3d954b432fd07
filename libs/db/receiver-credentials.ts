import {
  OAuth2ClientAuth,
  OAuth2Credentials,
  ReceiverCredentials,
  ReceiverHeader,
  TlsClientCredentials,
} from '../contracts/receiver-credentials';
import { SecretBox } from '../secrets/secret-box';
import type { Db } from './pool';

/** How a secret header's value is shown once it is stored. */
export const MASKED_HEADER_VALUE = '********';

/** A header as the subscription row keeps it: the value sealed, whether it is secret or not. */
export interface StoredHeader {
  name: string;
  value: string;
  secret: boolean;
}

export interface StoredOAuth2 {
  token_url: string;
  client_id: string;
  /** Sealed. */
  client_secret: string;
  scope: string | null;
  audience: string | null;
  client_auth: OAuth2ClientAuth;
}

export interface StoredTlsClient {
  certificate: string | null;
  /** Sealed. */
  private_key: string | null;
  ca: string | null;
  subject: string | null;
  issuer: string | null;
  expires_at: string | null;
}

/** A header to set, in clear; `secret: false` lets answers show its value. */
export interface HeaderInput extends ReceiverHeader {
  secret: boolean;
}

/** A client certificate to store, with what answers show of it (read from the certificate by the caller). */
export interface TlsClientInput extends TlsClientCredentials {
  subject: string | null;
  issuer: string | null;
  expiresAt: Date | null;
}

/** A new subscription's receiver credentials, in clear. */
export interface NewCredentials {
  headers?: HeaderInput[];
  oauth2?: OAuth2Credentials | null;
  tlsClient?: TlsClientInput | null;
}

/** Changes to them: undefined leaves each as it is, null removes it. */
export interface CredentialChanges {
  headers?: HeaderChanges;
  oauth2?: OAuth2Credentials | null;
  tlsClient?: TlsClientInput | null;
}

/** As a column value: JSON, or null for none (no header is none). */
const column = (value: object | null | undefined) =>
  value === null || value === undefined || (Array.isArray(value) && value.length === 0) ? null : JSON.stringify(value);

/** What an answer shows of a subscription's receiver credentials: never a secret. */
export interface ReceiverCredentialsView {
  /** Name -> value, secret values masked; null when none is set. */
  headers: Record<string, string> | null;
  oauth2: {
    token_url: string;
    client_id: string;
    scope: string | null;
    audience: string | null;
    client_auth: OAuth2ClientAuth;
  } | null;
  tls_client: { subject: string | null; issuer: string | null; expires_at: string | null; ca: boolean } | null;
}

export interface StoredCredentials {
  headers: StoredHeader[] | null;
  oauth2: StoredOAuth2 | null;
  tls_client: StoredTlsClient | null;
}

/** Seals and opens the receiver credentials kept in a subscription's row. */
export class ReceiverCredentialsSeal {
  constructor(private readonly box: SecretBox) {}

  header({ name, value, secret }: HeaderInput): StoredHeader {
    return { name, value: this.box.seal(value), secret };
  }

  oauth2(credentials: OAuth2Credentials): StoredOAuth2 {
    return {
      token_url: credentials.tokenUrl,
      client_id: credentials.clientId,
      client_secret: this.box.seal(credentials.clientSecret),
      scope: credentials.scope,
      audience: credentials.audience,
      client_auth: credentials.clientAuth,
    };
  }

  tlsClient(input: TlsClientInput): StoredTlsClient {
    return {
      certificate: input.certificate,
      private_key: input.privateKey === null ? null : this.box.seal(input.privateKey),
      ca: input.ca,
      subject: input.subject,
      issuer: input.issuer,
      expires_at: input.expiresAt?.toISOString() ?? null,
    };
  }

  /** The headers, oauth2 and tls_client columns of a new subscription, sealed. */
  columns({ headers = [], oauth2, tlsClient }: NewCredentials): Array<string | null> {
    return [
      column(headers.map((header) => this.header(header))),
      column(oauth2 && this.oauth2(oauth2)),
      column(tlsClient && this.tlsClient(tlsClient)),
    ];
  }

  /** For each of the three columns: whether it changes, and its new value (`headers` as headersAfter made them). */
  columnChanges(
    changes: CredentialChanges,
    headers: StoredHeader[] | null | undefined,
  ): Array<boolean | string | null> {
    const change = (value: object | null | undefined) => [value !== undefined, column(value)];
    return [
      ...change(headers),
      ...change(changes.oauth2 && this.oauth2(changes.oauth2)),
      ...change(changes.tlsClient && this.tlsClient(changes.tlsClient)),
    ];
  }

  /** The same credentials with every sealed value sealed under the current master key; undefined when they are. */
  resealed(stored: StoredCredentials): StoredCredentials | undefined {
    const current = `v1:${this.box.currentKeyId}:`;
    let changed = false;
    const reseal = <T extends string | null>(value: T): T => {
      if (value === null || value.startsWith(current)) return value;
      changed = true;
      return this.box.seal(this.box.reveal(value)) as T;
    };
    const { headers, oauth2, tls_client: tls } = stored;
    const resealed: StoredCredentials = {
      headers: headers && headers.map((header) => ({ ...header, value: reseal(header.value) })),
      oauth2: oauth2 && { ...oauth2, client_secret: reseal(oauth2.client_secret) },
      tls_client: tls && { ...tls, private_key: reseal(tls.private_key) },
    };
    return changed ? resealed : undefined;
  }

  /** Opened for an attempt. */
  open(stored: StoredCredentials): ReceiverCredentials {
    const { headers, oauth2, tls_client: tls } = stored;
    return {
      headers: (headers ?? []).map(({ name, value }) => ({ name, value: this.box.open(value) })),
      oauth2: oauth2 && {
        tokenUrl: oauth2.token_url,
        clientId: oauth2.client_id,
        clientSecret: this.box.open(oauth2.client_secret),
        scope: oauth2.scope,
        audience: oauth2.audience,
        clientAuth: oauth2.client_auth,
      },
      tlsClient: tls && {
        certificate: tls.certificate,
        privateKey: tls.private_key === null ? null : this.box.open(tls.private_key),
        ca: tls.ca,
      },
    };
  }

  /** What an answer shows: names and non-secret values, the OAuth2 settings but the secret, the certificate's names. */
  view(stored: StoredCredentials): ReceiverCredentialsView {
    const { headers, oauth2, tls_client: tls } = stored;
    return {
      headers:
        headers === null || headers.length === 0
          ? null
          : Object.fromEntries(
              headers.map(({ name, value, secret }) => [name, secret ? MASKED_HEADER_VALUE : this.box.open(value)]),
            ),
      oauth2: oauth2 && {
        token_url: oauth2.token_url,
        client_id: oauth2.client_id,
        scope: oauth2.scope,
        audience: oauth2.audience,
        client_auth: oauth2.client_auth,
      },
      tls_client: tls && { subject: tls.subject, issuer: tls.issuer, expires_at: tls.expires_at, ca: tls.ca !== null },
    };
  }
}

/** Changes to a subscription's headers by name (case-insensitive); null as a whole removes them all. */
export type HeaderChanges = { set: HeaderInput[]; remove: string[] } | null;

/** Raised when a change would leave a subscription with more headers than `limit`. */
export class TooManyHeaders extends Error {
  constructor(readonly limit: number) {
    super(`a subscription has at most ${limit} headers`);
  }
}

/**
 * A subscription's headers after `changes` (`set` adds or replaces by name, case-insensitive; `remove` drops), read
 * under the row's lock in the caller's transaction; `missing` when the subscription is not in scope. Throws
 * TooManyHeaders when more than `maxHeaders` would be left.
 */
export async function headersAfter(
  db: Db,
  seal: ReceiverCredentialsSeal,
  subscription: { id: string; scope: string | undefined },
  changes: HeaderChanges,
  maxHeaders: number,
): Promise<StoredHeader[] | null | 'missing'> {
  const found = await db.query<{ headers: StoredHeader[] | null }>(
    `SELECT headers FROM subscriptions
      WHERE id = $1::text AND deleted_at IS NULL AND ($2::text IS NULL OR tenant_id = $2::text) FOR UPDATE`,
    [subscription.id, subscription.scope ?? null],
  );
  if (found.rowCount === 0) return 'missing';
  if (changes === null) return null;
  const set = changes.set.map((header) => seal.header(header));
  const gone = new Set([...changes.remove, ...set.map(({ name }) => name)].map((name) => name.toLowerCase()));
  const headers = [...(found.rows[0].headers ?? []).filter(({ name }) => !gone.has(name.toLowerCase())), ...set];
  if (headers.length > maxHeaders) throw new TooManyHeaders(maxHeaders);
  return headers;
}
