import { Pool } from 'pg';
import { SecretBox } from '../secrets/secret-box';
import { withTransaction } from './pool';

/** An access token and when it stops being used (shortly before it expires). */
export interface SharedToken {
  token: string;
  renewAt: Date;
}

/**
 * The OAuth2 access tokens every worker (and the api's test sends) share, one per subscription, sealed at rest.
 * Taking one is serialised per subscription by a transaction-scoped advisory lock, so when a token is missing or
 * due, exactly one process fetches it and the others, queued on the lock, find the fresh one.
 */
export class OAuth2TokensRepository {
  constructor(
    private readonly pool: Pool,
    private readonly box: SecretBox,
  ) {}

  /**
   * The stored token fetched with `credentials` (a fingerprint of the settings), when it is not due and is not
   * `stale` (a token the receiver has just refused); otherwise `fetch`'s, stored when it brought one. `fetch` runs
   * under the lock: its own budget bounds how long the others wait.
   */
  async take<F>(
    subscriptionId: string,
    credentials: string,
    stale: string | undefined,
    fetch: () => Promise<SharedToken | F>,
  ): Promise<SharedToken | F> {
    return withTransaction(this.pool, async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('oauth2_tokens:' || $1::text, 0))`, [
        subscriptionId,
      ]);
      const { rows } = await client.query<{ access_token: string; renew_at: Date }>(
        `SELECT access_token, renew_at FROM oauth2_tokens
          WHERE subscription_id = $1::text AND credentials = $2::text AND renew_at > clock_timestamp()`,
        [subscriptionId, credentials],
      );
      if (rows.length > 0) {
        const token = this.box.open(rows[0].access_token);
        if (token !== stale) return { token, renewAt: rows[0].renew_at };
      }
      const fetched = await fetch();
      if (isSharedToken(fetched)) {
        await client.query(
          `INSERT INTO oauth2_tokens (subscription_id, credentials, access_token, renew_at)
           VALUES ($1::text, $2::text, $3::text, $4::timestamptz)
           ON CONFLICT (subscription_id) DO UPDATE
             SET credentials = EXCLUDED.credentials, access_token = EXCLUDED.access_token, renew_at = EXCLUDED.renew_at`,
          [subscriptionId, credentials, this.box.seal(fetched.token), fetched.renewAt],
        );
      }
      return fetched;
    });
  }
}

function isSharedToken(value: unknown): value is SharedToken {
  return typeof value === 'object' && value !== null && 'token' in value && 'renewAt' in value;
}
