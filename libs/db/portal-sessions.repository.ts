import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { newPortalSessionId } from '../contracts/ids';
import { hashApiKey } from './api-keys.repository';
import { Db } from './pool';

export interface PortalSessionView {
  id: string;
  tenant_id: string;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  exchanged_at: Date | null;
  revoked_at: Date | null;
}

/** Why a token could not be exchanged: the error code the browser gets. */
export type RefusedToken =
  'portal_token_invalid' | 'portal_token_expired' | 'portal_token_used' | 'portal_token_revoked';

/** Tokens and session secrets are 32 random bytes; high entropy makes a plain SHA-256 a safe stored form. */
const newSecret = (prefix: string) => prefix + randomBytes(32).toString('base64url');
const COLUMNS = 'id, tenant_id, created_by, created_at, expires_at, exchanged_at, revoked_at';

export class PortalSessionsRepository {
  constructor(private readonly pool: Pool) {}

  /** A session waiting for its one-time token to be exchanged; the token is answered this once, only its hash kept. */
  async create(
    tenantId: string,
    ttlMs: number,
    createdBy: string,
    db: Db = this.pool,
  ): Promise<PortalSessionView & { token: string }> {
    const token = newSecret('iaw_pt_');
    const { rows } = await db.query<PortalSessionView>(
      `INSERT INTO portal_sessions (id, tenant_id, token_hash, created_by, expires_at)
       VALUES ($1::text, $2::text, $3::text, $4::text, now() + $5::integer * interval '1 millisecond')
       RETURNING ${COLUMNS}`,
      [newPortalSessionId(), tenantId, hashApiKey(token), createdBy, ttlMs],
    );
    return { ...rows[0], token };
  }

  /**
   * Exchanges a token, once: answers the session and its secret (the cookie's value, kept only as a hash), or why
   * the token is refused. The single UPDATE makes two exchanges of one token race to one winner.
   */
  async exchange(token: string): Promise<{ session: PortalSessionView; secret: string } | { refused: RefusedToken }> {
    const secret = newSecret('iaw_ps_');
    const { rows } = await this.pool.query<PortalSessionView>(
      `UPDATE portal_sessions SET exchanged_at = now(), session_hash = $2::text
       WHERE token_hash = $1::text AND exchanged_at IS NULL AND revoked_at IS NULL AND expires_at > now()
       RETURNING ${COLUMNS}`,
      [hashApiKey(token), hashApiKey(secret)],
    );
    if (rows[0]) return { session: rows[0], secret };
    const { rows: known } = await this.pool.query<{ revoked: boolean; used: boolean }>(
      `SELECT revoked_at IS NOT NULL AS revoked, exchanged_at IS NOT NULL AS used FROM portal_sessions WHERE token_hash = $1::text`,
      [hashApiKey(token)],
    );
    const row = known[0];
    return {
      refused: !row
        ? 'portal_token_invalid'
        : row.revoked
          ? 'portal_token_revoked'
          : row.used
            ? 'portal_token_used'
            : 'portal_token_expired',
    };
  }

  /** The live session whose cookie has this secret, if any. */
  async findActive(secret: string): Promise<PortalSessionView | undefined> {
    const { rows } = await this.pool.query<PortalSessionView>(
      `SELECT ${COLUMNS} FROM portal_sessions WHERE session_hash = $1::text AND revoked_at IS NULL AND expires_at > now()`,
      [hashApiKey(secret)],
    );
    return rows[0];
  }

  /** Ends a session, exchanged or not: its token can no longer be exchanged and its cookie no longer works. */
  async revoke(tenantId: string, id: string, db: Db = this.pool): Promise<boolean> {
    const { rowCount } = await db.query(
      `UPDATE portal_sessions SET revoked_at = now() WHERE id = $1::text AND tenant_id = $2::text AND revoked_at IS NULL`,
      [id, tenantId],
    );
    return rowCount === 1;
  }
}
