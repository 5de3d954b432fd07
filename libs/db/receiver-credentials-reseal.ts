import { SecretBox } from '../secrets/secret-box';
import type { Db } from './pool';
import { ReceiverCredentialsSeal, StoredCredentials } from './receiver-credentials';

/**
 * Reseals with the current master key every receiver credential sealed under an older one (the worker's start, with
 * the signing secrets), and drops the shared OAuth2 tokens sealed under an older one (they are fetched again).
 * Answers how many subscriptions were resealed and how many hold a value no key in the keyring opens.
 */
export async function resealReceiverCredentials(
  db: Db,
  box: SecretBox,
): Promise<{ resealed: number; unreadable: number }> {
  const seal = new ReceiverCredentialsSeal(box);
  const { rows } = await db.query<StoredCredentials & { id: string }>(
    `SELECT id, headers, oauth2, tls_client FROM subscriptions
      WHERE headers IS NOT NULL OR oauth2 IS NOT NULL OR tls_client IS NOT NULL`,
  );
  let resealed = 0;
  let unreadable = 0;
  for (const { id, ...stored } of rows) {
    let changed: StoredCredentials | undefined;
    try {
      changed = seal.resealed(stored);
    } catch {
      unreadable += 1;
      continue;
    }
    if (changed === undefined) continue;
    const { rowCount } = await db.query(
      // Matched on the stored values: a concurrent change of the same subscription wins, not this reseal.
      `UPDATE subscriptions SET headers = $2::jsonb, oauth2 = $3::jsonb, tls_client = $4::jsonb
        WHERE id = $1::text AND headers IS NOT DISTINCT FROM $5::jsonb AND oauth2 IS NOT DISTINCT FROM $6::jsonb
          AND tls_client IS NOT DISTINCT FROM $7::jsonb`,
      [id, ...[changed, stored].flatMap((c) => [c.headers, c.oauth2, c.tls_client].map((v) => v && JSON.stringify(v)))],
    );
    resealed += rowCount ?? 0;
  }
  await db.query(`DELETE FROM oauth2_tokens WHERE access_token NOT LIKE $1::text`, [`v1:${box.currentKeyId}:%`]);
  return { resealed, unreadable };
}
