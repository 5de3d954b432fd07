import { Pool } from 'pg';
import { SecretBox } from '../secrets/secret-box';
import { Db, inTransaction } from './pool';
import { TenantScope } from './rows';

/** Live signing secrets a subscription may have at once (the current one and those still in their grace period). */
export const MAX_LIVE_SIGNING_SECRETS = 5;

/**
 * The subscriptions' signing secrets, stored sealed by `box` and opened only to sign an attempt: added with a new
 * subscription, rotated with a grace period for the older ones, resealed when the master key changes.
 */
export class SubscriptionSecrets {
  constructor(
    private readonly pool: Pool,
    private readonly box: SecretBox,
  ) {}

  /** Stores a new secret of the subscription, sealed (on `db`: inside the caller's transaction). */
  async add(subscriptionId: string, secret: string, db: Db = this.pool): Promise<void> {
    await db.query(`INSERT INTO subscription_secrets (subscription_id, secret) VALUES ($1::text, $2::text)`, [
      subscriptionId,
      this.box.seal(secret),
    ]);
  }

  /** Stored secrets, opened. */
  open(stored: string[]): string[] {
    return stored.map((secret) => this.box.reveal(secret));
  }

  /**
   * Adds a new secret and lets every older one expire after the grace period (at once for 0; a secret already
   * expiring sooner keeps its earlier end). Returns undefined when the subscription is not in scope, and
   * `secretLimitReached` (with when the first live secret ends) when a rotation with a grace period would make more
   * than MAX_LIVE_SIGNING_SECRETS live: every attempt is signed once per live secret.
   */
  async rotate(
    id: string,
    scope: TenantScope,
    newSecret: string,
    graceSeconds: number,
    db: Db = this.pool,
  ): Promise<
    | { id: string; tenant_id: string; previousValidUntil: Date }
    | { secretLimitReached: { firstEndsAt: Date } }
    | undefined
  > {
    return inTransaction(db, async (client) => {
      const found = await client.query<{ tenant_id: string }>(
        `SELECT tenant_id FROM subscriptions
          WHERE id = $1::text AND deleted_at IS NULL AND ($2::text IS NULL OR tenant_id = $2::text) FOR UPDATE`,
        [id, scope ?? null],
      );
      if (found.rowCount === 0) return undefined;
      if (graceSeconds > 0) {
        const live = await client.query<{ live: number; first_ends_at: Date | null }>(
          `SELECT count(*)::int AS live, min(expires_at) AS first_ends_at FROM subscription_secrets
            WHERE subscription_id = $1::text AND (expires_at IS NULL OR expires_at > clock_timestamp())`,
          [id],
        );
        const { live: count, first_ends_at } = live.rows[0];
        if (count >= MAX_LIVE_SIGNING_SECRETS) return { secretLimitReached: { firstEndsAt: first_ends_at! } };
      }
      const { rows } = await client.query<{ until: Date }>(
        `SELECT clock_timestamp() + make_interval(secs => $1::int) AS until`,
        [graceSeconds],
      );
      const until = rows[0].until;
      await client.query(
        `UPDATE subscription_secrets SET expires_at = LEAST(COALESCE(expires_at, $2::timestamptz), $2::timestamptz)
          WHERE subscription_id = $1::text`,
        [id, until],
      );
      await this.add(id, newSecret, client);
      await client.query(`UPDATE subscriptions SET updated_at = now() WHERE id = $1::text`, [id]);
      return { id, tenant_id: found.rows[0].tenant_id, previousValidUntil: until };
    });
  }

  /**
   * Seals with the current master key every secret still in clear (rows from before encryption) or sealed with an
   * older key. Run at worker start, so rotating the master key is: add the new key first, restart, drop the old.
   */
  async reseal(): Promise<{ resealed: number; unreadable: number }> {
    const { rows } = await this.pool.query<{ subscription_id: string; secret: string }>(
      `SELECT subscription_id, secret FROM subscription_secrets WHERE secret NOT LIKE $1::text`,
      [`v1:${this.box.currentKeyId}:%`],
    );
    let resealed = 0;
    let unreadable = 0;
    for (const row of rows) {
      let secret: string;
      try {
        secret = this.box.reveal(row.secret);
      } catch {
        // Sealed under a key no longer in the keyring: left as is, and reported.
        unreadable += 1;
        continue;
      }
      const { rowCount } = await this.pool.query(
        // Matched on the stored value itself: a concurrent rotation or reseal of the same row wins, not this one.
        `UPDATE subscription_secrets SET secret = $3::text WHERE subscription_id = $1::text AND secret = $2::text`,
        [row.subscription_id, row.secret, this.box.seal(secret)],
      );
      resealed += rowCount ?? 0;
    }
    return { resealed, unreadable };
  }
}
