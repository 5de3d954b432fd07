import { Pool } from 'pg';
import type { DatabaseGauges } from '../observability/metrics';
import { FAILING_DISABLE_REASON, GONE_DISABLE_REASON } from './rows';

/** The state behind the api's gauges, in one statement per refresh (each count served by a partial index). */
export class GaugesRepository {
  constructor(private readonly pool: Pool) {}

  async read(): Promise<DatabaseGauges> {
    const { rows } = await this.pool.query<{
      outbox_backlog: number;
      outbox_oldest_age_seconds: number;
      dead_letters_waiting: number;
      receiver_gone: number;
      failing: number;
      operator: number;
    }>(
      `SELECT o.backlog AS outbox_backlog, o.oldest_age AS outbox_oldest_age_seconds,
              (SELECT count(*)::int FROM deliveries WHERE status = 'dead_lettered') AS dead_letters_waiting,
              s.receiver_gone, s.failing, s.operator
         FROM (SELECT count(*)::int AS backlog, COALESCE(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age
                 FROM deliveries WHERE workflow_started_at IS NULL) o,
              (SELECT count(*) FILTER (WHERE disabled_reason = $1::text)::int AS receiver_gone,
                      count(*) FILTER (WHERE disabled_reason = $2::text)::int AS failing,
                      count(*) FILTER (WHERE disabled_reason IS DISTINCT FROM $1::text AND disabled_reason IS DISTINCT FROM $2::text)::int AS operator
                 FROM subscriptions WHERE NOT enabled AND deleted_at IS NULL) s`,
      [GONE_DISABLE_REASON, FAILING_DISABLE_REASON],
    );
    const row = rows[0];
    return {
      outboxBacklog: row.outbox_backlog,
      outboxOldestAgeSeconds: row.outbox_oldest_age_seconds,
      deadLettersWaiting: row.dead_letters_waiting,
      subscriptionsDisabled: { receiver_gone: row.receiver_gone, failing: row.failing, operator: row.operator },
    };
  }
}
