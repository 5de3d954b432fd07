import { Pool } from 'pg';

/** A subscription's client certificate that expires soon, as the warning about it names it. */
export interface ExpiringCertificate {
  subscriptionId: string;
  tenantId: string;
  subject: string;
  issuer: string;
  expiresAt: Date;
}

/** The subscriptions' client certificates (mutual TLS), as far as their expiry is concerned. */
export class ClientCertificatesRepository {
  constructor(private readonly pool: Pool) {}

  /** Live subscriptions whose client certificate expires within `withinMs` and was not warned about yet. */
  async expiringUnwarned(withinMs: number): Promise<ExpiringCertificate[]> {
    const { rows } = await this.pool.query<ExpiringCertificate>(
      `SELECT id AS "subscriptionId", tenant_id AS "tenantId", tls_client->>'subject' AS subject,
              tls_client->>'issuer' AS issuer, (tls_client->>'expires_at')::timestamptz AS "expiresAt"
         FROM subscriptions
        WHERE deleted_at IS NULL AND tls_client_expiry_warned_at IS NULL
          AND (tls_client->>'expires_at')::timestamptz < now() + make_interval(secs => $1::double precision / 1000)`,
      [withinMs],
    );
    return rows;
  }

  /** Marks the warning given, unless the certificate was replaced meanwhile (its replacement gets its own). */
  async warned(subscriptionId: string, expiresAt: Date): Promise<void> {
    await this.pool.query(
      `UPDATE subscriptions SET tls_client_expiry_warned_at = now()
        WHERE id = $1::text AND (tls_client->>'expires_at')::timestamptz = $2::timestamptz`,
      [subscriptionId, expiresAt],
    );
  }
}
