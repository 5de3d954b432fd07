import { createHash } from 'node:crypto';
import type { OAuth2Credentials } from '../contracts/receiver-credentials';
import { OAuth2TokensRepository, SharedToken } from '../db/oauth2-tokens.repository';
import { printableText } from './response-excerpt';
import { WebhookSender } from './webhook-sender';

/** A token endpoint that answers no `expires_in`: its token is used this long. */
const DEFAULT_TOKEN_LIFETIME_MS = 300_000;
/** A token stops being used this long before it expires (at most; a quarter of a shorter lifetime). */
const RENEW_BEFORE_EXPIRY_MS = 30_000;

/** Why no token came: `oauth_token_failed: <status>` (the HTTP status, or what kept an answer from arriving). */
export interface TokenFailure {
  failure: string;
}

/**
 * OAuth2 client credentials (RFC 6749 section 4.4) for the attempts: a token is fetched through the sender (the
 * SSRF guard, the egress proxy and the attempt's budget), kept in this process and in Postgres for every other,
 * and used until shortly before it expires. Neither the client secret nor a token ever goes into an error.
 */
export class OAuth2Tokens {
  /** This process's copy of each subscription's token, so an attempt with a fresh one reads no row. */
  private readonly held = new Map<string, SharedToken & { credentials: string }>();

  constructor(
    private readonly sender: WebhookSender,
    private readonly shared: OAuth2TokensRepository,
  ) {}

  /** A usable token for the subscription; `stale`: one the receiver refused, never answered again. */
  async token(
    subscriptionId: string,
    credentials: OAuth2Credentials,
    signal: AbortSignal,
    stale?: string,
  ): Promise<SharedToken | TokenFailure> {
    const fingerprint = createHash('sha256').update(JSON.stringify(credentials)).digest('base64');
    const held = this.held.get(subscriptionId);
    if (
      held !== undefined &&
      held.credentials === fingerprint &&
      held.renewAt.getTime() > Date.now() &&
      held.token !== stale
    )
      return held;
    const taken = await this.shared.take(subscriptionId, fingerprint, stale, () => this.fetch(credentials, signal));
    if ('token' in taken) this.held.set(subscriptionId, { ...taken, credentials: fingerprint });
    else this.held.delete(subscriptionId);
    return taken;
  }

  private async fetch(credentials: OAuth2Credentials, signal: AbortSignal): Promise<SharedToken | TokenFailure> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (credentials.scope !== null) form.set('scope', credentials.scope);
    if (credentials.audience !== null) form.set('audience', credentials.audience);
    const headers: Record<string, string> = {};
    if (credentials.clientAuth === 'basic') {
      // RFC 6749 section 2.3.1: each part form-encoded before the Basic encoding.
      const encode = (text: string) => encodeURIComponent(text).replace(/%20/g, '+');
      headers.authorization = `Basic ${Buffer.from(`${encode(credentials.clientId)}:${encode(credentials.clientSecret)}`).toString('base64')}`;
    } else {
      form.set('client_id', credentials.clientId);
      form.set('client_secret', credentials.clientSecret);
    }
    const requestedAt = Date.now();
    const answer = await this.sender.postForm(credentials.tokenUrl, headers, form, signal);
    if (answer.statusCode === null) return { failure: `oauth_token_failed: ${answer.error}` };
    const parsed = parseTokenAnswer(answer.body);
    if (answer.statusCode < 200 || answer.statusCode >= 300)
      return { failure: `oauth_token_failed: ${answer.statusCode}${parsed.error ? ` ${parsed.error}` : ''}` };
    if (parsed.accessToken === undefined)
      return { failure: `oauth_token_failed: ${answer.statusCode} (the answer has no access_token)` };
    const lifetimeMs = parsed.expiresInS === undefined ? DEFAULT_TOKEN_LIFETIME_MS : parsed.expiresInS * 1000;
    return {
      token: parsed.accessToken,
      renewAt: new Date(requestedAt + lifetimeMs - Math.min(RENEW_BEFORE_EXPIRY_MS, lifetimeMs / 4)),
    };
  }
}

/** The fields of a token endpoint's JSON answer that matter; the OAuth2 `error` code only as printable text. */
function parseTokenAnswer(body: string): { accessToken?: string; expiresInS?: number; error?: string } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return {};
  }
  if (typeof json !== 'object' || json === null) return {};
  const { access_token: accessToken, expires_in: expiresIn, error } = json as Record<string, unknown>;
  return {
    accessToken: typeof accessToken === 'string' && accessToken !== '' ? accessToken : undefined,
    expiresInS: typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : undefined,
    error: typeof error === 'string' ? printableText(error).slice(0, 64) : undefined,
  };
}
