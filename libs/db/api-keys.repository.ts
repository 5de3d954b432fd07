import { createHash, randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { newApiKeyId } from '../contracts/ids';
import { Db } from './pool';

export interface ApiKeyView {
  id: string;
  tenant_id: string;
  prefix: string;
  name: string | null;
  created_by: string;
  created_at: Date;
  revoked_at: Date | null;
}

/** Tenant keys are `iaw_tk_` + 32 random bytes; high entropy makes a plain SHA-256 a safe stored form. */
const TENANT_KEY_PREFIX = 'iaw_tk_';
const VISIBLE_PREFIX_LENGTH = TENANT_KEY_PREFIX.length + 6;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export class ApiKeysRepository {
  constructor(private readonly pool: Pool) {}

  /** Creates a key and returns it in clear this once; only its hash and visible prefix are stored. */
  async create(
    tenantId: string,
    name: string | null,
    createdBy: string,
    db: Db = this.pool,
  ): Promise<ApiKeyView & { key: string }> {
    const key = TENANT_KEY_PREFIX + randomBytes(32).toString('base64url');
    const { rows } = await db.query<ApiKeyView>(
      `INSERT INTO api_keys (id, tenant_id, prefix, key_hash, name, created_by)
       VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text)
       RETURNING id, tenant_id, prefix, name, created_by, created_at, revoked_at`,
      [newApiKeyId(), tenantId, key.slice(0, VISIBLE_PREFIX_LENGTH), hashApiKey(key), name, createdBy],
    );
    return { ...rows[0], key };
  }

  async list(tenantId: string): Promise<ApiKeyView[]> {
    const { rows } = await this.pool.query<ApiKeyView>(
      `SELECT id, tenant_id, prefix, name, created_by, created_at, revoked_at FROM api_keys WHERE tenant_id = $1::text ORDER BY id DESC`,
      [tenantId],
    );
    return rows;
  }

  async revoke(tenantId: string, keyId: string, db: Db = this.pool): Promise<boolean> {
    const { rowCount } = await db.query(
      `UPDATE api_keys SET revoked_at = now() WHERE id = $1::text AND tenant_id = $2::text AND revoked_at IS NULL`,
      [keyId, tenantId],
    );
    return rowCount === 1;
  }

  /** The active tenant key with this hash, if any. */
  async findActive(keyHash: string): Promise<{ id: string; tenant_id: string } | undefined> {
    const { rows } = await this.pool.query<{ id: string; tenant_id: string }>(
      `SELECT id, tenant_id FROM api_keys WHERE key_hash = $1::text AND revoked_at IS NULL`,
      [keyHash],
    );
    return rows[0];
  }
}
