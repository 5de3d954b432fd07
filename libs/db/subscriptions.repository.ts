import { Pool } from 'pg';
import { Page, toPage } from './page';
import { SecretBox } from '../secrets/secret-box';
import { Db, withTransaction } from './pool';
import {
  headersAfter,
  ReceiverCredentialsSeal,
  ReceiverCredentialsView,
  StoredCredentials,
} from './receiver-credentials';
import { NewSubscription, SubscriptionChanges, SubscriptionTarget, SubscriptionView } from './subscription-records';
import { CREATED_DISABLED_REASON, SUBSCRIPTION_VIEW_COLUMNS, TARGET_COLUMNS, TargetRow, TenantScope } from './rows';
import { SubscriptionSecrets } from './subscription-secrets';
import { requireTenantQuota } from './tenant-quotas';

type ViewRow = Omit<SubscriptionView, keyof ReceiverCredentialsView> & StoredCredentials;

const SCOPED = '($2::text IS NULL OR tenant_id = $2::text)';

export class SubscriptionsRepository {
  /** The subscriptions' signing secrets, stored sealed by `box` and opened only to sign an attempt. */
  readonly secrets: SubscriptionSecrets;
  /** Seals the receiver credentials kept in the row, opens them for an attempt, shows them masked. */
  private readonly seal: ReceiverCredentialsSeal;

  constructor(
    private readonly pool: Pool,
    box: SecretBox,
  ) {
    this.secrets = new SubscriptionSecrets(pool, box);
    this.seal = new ReceiverCredentialsSeal(box);
  }

  /** Throws TenantQuotaExceeded when the tenant already has `maxPerTenant` subscriptions (0: no limit). */
  async create(subscription: NewSubscription, maxPerTenant = 0): Promise<SubscriptionView> {
    return withTransaction(this.pool, async (client) => {
      await requireTenantQuota(client, 'subscriptions', subscription.tenantId, maxPerTenant);
      const { rows } = await client.query<ViewRow>(
        `INSERT INTO subscriptions (id, tenant_id, url, event_types, description, max_in_flight, max_per_second,
                                    ordering, kind, expires_at, enabled, disabled_reason, headers, oauth2, tls_client)
         VALUES ($1::text, $2::text, $3::text, $4::text[], $5::text, $6::int, $7::int, $8::text,
                 CASE WHEN $9::int IS NULL THEN 'webhook' ELSE 'listen' END, now() + $9::int * interval '1 millisecond',
                 $10::boolean, CASE WHEN $10::boolean THEN NULL ELSE $11::text END, $12::jsonb, $13::jsonb, $14::jsonb)
         RETURNING ${SUBSCRIPTION_VIEW_COLUMNS}`,
        [
          subscription.id,
          subscription.tenantId,
          subscription.url,
          subscription.eventTypes,
          subscription.description,
          subscription.maxInFlight ?? null,
          subscription.maxPerSecond ?? null,
          subscription.ordering ?? 'none',
          subscription.listenTtlMs ?? null,
          subscription.enabled ?? true,
          CREATED_DISABLED_REASON,
          ...this.seal.columns(subscription),
        ],
      );
      await this.secrets.add(subscription.id, subscription.signingSecret, client);
      return this.view(rows[0]);
    });
  }

  async get(id: string, scope: TenantScope): Promise<SubscriptionView | undefined> {
    const { rows } = await this.pool.query<ViewRow>(
      `SELECT ${SUBSCRIPTION_VIEW_COLUMNS} FROM subscriptions WHERE id = $1::text AND deleted_at IS NULL AND ${SCOPED}`,
      [id, scope ?? null],
    );
    return rows[0] && this.view(rows[0]);
  }

  /** One tenant's subscriptions, or every tenant's (tenantId undefined), newest first. */
  async list(
    tenantId: string | undefined,
    afterId: string | undefined,
    limit: number,
  ): Promise<Page<SubscriptionView>> {
    const { rows } = await this.pool.query<ViewRow>(
      `SELECT ${SUBSCRIPTION_VIEW_COLUMNS} FROM subscriptions
        WHERE ($1::text IS NULL OR tenant_id = $1::text) AND deleted_at IS NULL AND ($2::text IS NULL OR id < $2::text)
        ORDER BY id DESC LIMIT $3::int`,
      [tenantId ?? null, afterId ?? null, limit + 1],
    );
    return toPage(
      rows.map((row) => this.view(row)),
      limit,
    );
  }

  /**
   * A new URL starts a fresh failure window (the old one's failures say nothing about it). Throws TooManyHeaders
   * when the header changes would leave more than `maxHeaders`.
   */
  async update(
    id: string,
    scope: TenantScope,
    changes: SubscriptionChanges,
    maxHeaders = Infinity,
  ): Promise<SubscriptionView | undefined> {
    return withTransaction(this.pool, async (client) => {
      const headers =
        changes.headers === undefined
          ? undefined
          : await headersAfter(client, this.seal, { id, scope }, changes.headers, maxHeaders);
      if (headers === 'missing') return undefined;
      const { rows } = await client.query<ViewRow>(
        `UPDATE subscriptions SET
          url = COALESCE($3::text, url),
          failing_since = CASE WHEN $3::text <> url THEN NULL ELSE failing_since END,
          event_types = COALESCE($4::text[], event_types),
          description = CASE WHEN $5::boolean THEN $6::text ELSE description END,
          max_in_flight = CASE WHEN $7::boolean THEN $8::int ELSE max_in_flight END,
          max_per_second = CASE WHEN $9::boolean THEN $10::int ELSE max_per_second END,
          headers = CASE WHEN $11::boolean THEN $12::jsonb ELSE headers END,
          oauth2 = CASE WHEN $13::boolean THEN $14::jsonb ELSE oauth2 END,
          tls_client = CASE WHEN $15::boolean THEN $16::jsonb ELSE tls_client END,
          tls_client_expiry_warned_at = CASE WHEN $15::boolean THEN NULL ELSE tls_client_expiry_warned_at END,
          ordering = COALESCE($17::text, ordering),
          updated_at = now()
        WHERE id = $1::text AND deleted_at IS NULL AND ${SCOPED}
        RETURNING ${SUBSCRIPTION_VIEW_COLUMNS}`,
        [
          id,
          scope ?? null,
          changes.url ?? null,
          changes.eventTypes ?? null,
          changes.description !== undefined,
          changes.description ?? null,
          changes.maxInFlight !== undefined,
          changes.maxInFlight ?? null,
          changes.maxPerSecond !== undefined,
          changes.maxPerSecond ?? null,
          ...this.seal.columnChanges(changes, headers),
          changes.ordering ?? null,
        ],
      );
      return rows[0] && this.view(rows[0]);
    });
  }

  /** Enables (reason cleared, and a fresh failure window) or disables with a reason. */
  async setEnabled(
    id: string,
    scope: TenantScope,
    enabled: boolean,
    reason: string | null,
    db: Db = this.pool,
  ): Promise<SubscriptionView | undefined> {
    const { rows } = await db.query<ViewRow>(
      `UPDATE subscriptions SET enabled = $3::boolean, disabled_reason = CASE WHEN $3::boolean THEN NULL ELSE $4::text END,
              failing_since = CASE WHEN $3::boolean THEN NULL ELSE failing_since END, updated_at = now()
        WHERE id = $1::text AND deleted_at IS NULL AND ${SCOPED}
        RETURNING ${SUBSCRIPTION_VIEW_COLUMNS}`,
      [id, scope ?? null, enabled, reason],
    );
    return rows[0] && this.view(rows[0]);
  }

  /** The subscription's run of failures, if it is failing, and whether that run was warned about already. */
  async failingRun(id: string): Promise<{ tenantId: string; failingSince: Date; warned: boolean } | undefined> {
    const { rows } = await this.pool.query<{ tenant_id: string; failing_since: Date; warned: boolean }>(
      `SELECT tenant_id, failing_since, failing_warned_for IS NOT DISTINCT FROM failing_since AS warned
         FROM subscriptions WHERE id = $1::text AND failing_since IS NOT NULL AND enabled AND deleted_at IS NULL`,
      [id],
    );
    return rows[0] && { tenantId: rows[0].tenant_id, failingSince: rows[0].failing_since, warned: rows[0].warned };
  }

  /** Marks the run of failures that began at `since` warned (unless it has ended meanwhile). */
  async markFailingWarned(id: string, since: Date, disablesAt: Date | null): Promise<void> {
    await this.pool.query(
      `UPDATE subscriptions SET failing_warned_for = $2::timestamptz, failing_warned_at = now(), failing_disables_at = $3::timestamptz
        WHERE id = $1::text AND failing_since = $2::timestamptz`,
      [id, since, disablesAt],
    );
  }

  /** Ends the subscription's run of failures that began at `since` (a run begun since then is left alone). */
  async clearFailing(id: string, since: Date): Promise<void> {
    await this.pool.query(
      `UPDATE subscriptions SET failing_since = NULL WHERE id = $1::text AND failing_since = $2::timestamptz`,
      [id, since],
    );
  }

  async softDelete(id: string, scope: TenantScope, db: Db = this.pool): Promise<SubscriptionView | undefined> {
    const { rows } = await db.query<ViewRow>(
      `UPDATE subscriptions SET deleted_at = now(), enabled = false, disabled_reason = 'deleted', updated_at = now()
        WHERE id = $1::text AND deleted_at IS NULL AND ${SCOPED}
        RETURNING ${SUBSCRIPTION_VIEW_COLUMNS}`,
      [id, scope ?? null],
    );
    return rows[0] && this.view(rows[0]);
  }

  async target(id: string): Promise<SubscriptionTarget | undefined> {
    const { rows } = await this.pool.query<TargetRow>(
      `SELECT ${TARGET_COLUMNS} FROM subscriptions s WHERE s.id = $1::text`,
      [id],
    );
    return rows[0] && this.toTarget(rows[0]);
  }

  /** A row of TARGET_COLUMNS, its secrets opened. */
  toTarget(row: TargetRow): SubscriptionTarget {
    return {
      id: row.id,
      tenantId: row.tenant_id,
      kind: row.kind,
      url: row.url,
      enabled: row.enabled,
      deleted: row.deleted,
      signingSecrets: this.secrets.open(row.secrets ?? []),
      credentials: this.seal.open(row),
    };
  }

  private view({ headers, oauth2, tls_client, ...row }: ViewRow): SubscriptionView {
    return { ...row, ...this.seal.view({ headers, oauth2, tls_client }) };
  }
}
