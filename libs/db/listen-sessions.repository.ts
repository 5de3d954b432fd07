import { Pool } from 'pg';
import { newListenRequestId } from '../contracts/ids';
import { TenantScope } from './rows';

/** A listen session as its tenant sees it (it is a subscription of kind 'listen', with that subscription's id). */
export interface ListenSessionView {
  id: string;
  tenant_id: string;
  event_types: string[];
  /** Where the tool forwards the deliveries (on the developer's machine; the product never connects to it). */
  forward_to: string;
  created_at: Date;
  expires_at: Date;
}

/** A signed attempt handed to a session: the exact headers and body the product would have POSTed. */
export interface ListenRequest {
  id: string;
  headers: Record<string, string>;
  body: string;
  /** The attempt stops waiting for an answer then. */
  expires_at: Date;
}

/** What the tool's local POST came to. */
export interface ListenAnswer {
  /** null: no HTTP answer (refused, timed out). */
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_excerpt: string | null;
  /** The local answer's Retry-After header, as sent. */
  retry_after: string | null;
}

const VIEW_COLUMNS = 'id, tenant_id, event_types, url AS forward_to, created_at, expires_at';
const LIVE_SESSION = `kind = 'listen' AND deleted_at IS NULL AND expires_at > now()`;
const SCOPED = '($2::text IS NULL OR tenant_id = $2::text)';

/**
 * Listen sessions' own queries (their creation and ending are a subscription's: SubscriptionsRepository) and the
 * hand-off of their attempts: the attempt adds a request, the api's long poll claims it for the tool, the tool's
 * answer is written back and read by the attempt, which then deletes the request.
 */
export class ListenSessionsRepository {
  constructor(private readonly pool: Pool) {}

  /** One tenant's live sessions, or every tenant's, newest first, at most `limit`. */
  async list(tenantId: string | undefined, limit: number): Promise<ListenSessionView[]> {
    const { rows } = await this.pool.query<ListenSessionView>(
      `SELECT ${VIEW_COLUMNS} FROM subscriptions WHERE ${LIVE_SESSION} AND ($1::text IS NULL OR tenant_id = $1::text)
        ORDER BY id DESC LIMIT $2::int`,
      [tenantId ?? null, limit],
    );
    return rows;
  }

  /** The live session, its end moved to `ttlMs` from now; undefined when it has ended or is another tenant's. */
  async keepAlive(id: string, scope: TenantScope, ttlMs: number): Promise<ListenSessionView | undefined> {
    const { rows } = await this.pool.query<ListenSessionView>(
      `UPDATE subscriptions SET expires_at = now() + $3::int * interval '1 millisecond'
        WHERE id = $1::text AND ${LIVE_SESSION} AND ${SCOPED}
        RETURNING ${VIEW_COLUMNS}`,
      [id, scope ?? null, ttlMs],
    );
    return rows[0];
  }

  /**
   * Ends every session past its end (the tool stopped without ending it) as a deletion of the subscription would,
   * with their waiting requests; answers their ids. Concurrent callers each end a session at most once.
   */
  async endExpired(): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `WITH ended AS (
         UPDATE subscriptions SET deleted_at = now(), enabled = false, disabled_reason = 'listen session expired',
                updated_at = now()
          WHERE kind = 'listen' AND deleted_at IS NULL AND expires_at <= now()
          RETURNING id),
       dropped AS (DELETE FROM listen_requests WHERE subscription_id IN (SELECT id FROM ended))
       SELECT id FROM ended`,
    );
    return rows.map((row) => row.id);
  }

  /** Drops what an ended session still had waiting (its attempts stop waiting at their timeout). */
  async dropRequests(subscriptionId: string): Promise<void> {
    await this.pool.query(`DELETE FROM listen_requests WHERE subscription_id = $1::text`, [subscriptionId]);
  }

  /** Hands an attempt to a session: answers the request's id. */
  async addRequest(
    subscriptionId: string,
    headers: Record<string, string>,
    body: string,
    waitMs: number,
  ): Promise<string> {
    const id = newListenRequestId();
    await this.pool.query(
      `INSERT INTO listen_requests (id, subscription_id, headers, body, expires_at)
       VALUES ($1::text, $2::text, $3::jsonb, $4::text, now() + $5::int * interval '1 millisecond')`,
      [id, subscriptionId, JSON.stringify(headers), body, waitMs],
    );
    return id;
  }

  /** The session's waiting requests, oldest first, each claimed once: a request is forwarded at most once. */
  async claimRequests(subscriptionId: string, limit: number): Promise<ListenRequest[]> {
    const { rows } = await this.pool.query<ListenRequest>(
      `UPDATE listen_requests SET claimed_at = now()
        WHERE id IN (SELECT id FROM listen_requests
                      WHERE subscription_id = $1::text AND claimed_at IS NULL AND expires_at > now()
                      ORDER BY created_at LIMIT $2::int FOR UPDATE SKIP LOCKED)
        RETURNING id, headers, body, expires_at`,
      [subscriptionId, limit],
    );
    return rows.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Records the tool's answer to a claimed request; false when the attempt no longer waits for it. */
  async answer(subscriptionId: string, requestId: string, answer: ListenAnswer): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE listen_requests SET answered_at = now(), status_code = $3::int, duration_ms = $4::int, error = $5::text,
              response_excerpt = $6::text, retry_after = $7::text
        WHERE id = $1::text AND subscription_id = $2::text AND claimed_at IS NOT NULL AND answered_at IS NULL
          AND expires_at > now()`,
      [
        requestId,
        subscriptionId,
        answer.status_code,
        answer.duration_ms,
        answer.error,
        answer.response_excerpt,
        answer.retry_after,
      ],
    );
    return rowCount === 1;
  }

  /** The tool's answer to a request, once there is one. */
  async answerOf(requestId: string): Promise<ListenAnswer | undefined> {
    const { rows } = await this.pool.query<ListenAnswer>(
      `SELECT status_code, duration_ms, error, response_excerpt, retry_after FROM listen_requests
        WHERE id = $1::text AND answered_at IS NOT NULL`,
      [requestId],
    );
    return rows[0];
  }

  async deleteRequest(requestId: string): Promise<void> {
    await this.pool.query(`DELETE FROM listen_requests WHERE id = $1::text`, [requestId]);
  }
}
