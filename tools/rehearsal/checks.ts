import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Pool } from 'pg';
import { ENDED_DELIVERY_STATUSES } from '../../libs/contracts/delivery-status';
import { projectRoot } from '../../libs/config/project-root';
import { seriesWithData } from './prometheus';
import { deservedStatus, Published } from './traffic';

export interface DeliveryCheck {
  published: number;
  deliveries: number;
  delivered: number;
  deadLettered: number;
  /** Attempts recorded in the attempt log. */
  attempts: number;
  /** A delivery the receivers' answers called for that is not there. */
  missing: number;
  /** A delivery that ended otherwise than its receiver's answers dictate, or one of an event never published. */
  wrong: number;
  /** The first few of them, for the report. */
  wrongExamples: string[];
  /** Receipts of an attempt the attempt log has once: the same attempt sent again (at-least-once). */
  resentAttempts: number;
  /** Receipts no recorded attempt explains. */
  unexplainedReceipts: number;
}

export async function untilAllEnded(pool: Pool, tenantId: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ open: number }>(
      `SELECT count(*)::int AS open FROM deliveries WHERE tenant_id = $1::text AND status <> ALL($2::text[])`,
      [tenantId, ENDED_DELIVERY_STATUSES],
    );
    if (rows[0].open === 0 || Date.now() > deadline) return rows[0].open;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** Every delivery against what its receiver's answers dictate, and every receipt against the attempt log. */
export async function checkDeliveries(
  pool: Pool,
  tenantId: string,
  subscriptionPaths: Map<string, string>,
  published: Published[],
  attemptReceipts: Map<string, number>,
  policy: { attempts: number; attemptTimeoutMs: number },
  expectedPaths: (eventType: string) => string[],
): Promise<DeliveryCheck> {
  const { rows } = await pool.query<{ id: string; event_id: string; subscription_id: string; status: string }>(
    `SELECT id, event_id, subscription_id, status FROM deliveries WHERE tenant_id = $1::text`,
    [tenantId],
  );
  const byKey = new Map(rows.map((row) => [`${row.event_id}|${subscriptionPaths.get(row.subscription_id)}`, row]));
  let missing = 0;
  let wrong = 0;
  const wrongExamples: string[] = [];
  for (const { eventId, eventType } of published)
    for (const path of expectedPaths(eventType)) {
      const row = byKey.get(`${eventId}|${path}`);
      const deserved = deservedStatus(path, eventId, policy.attempts, policy.attemptTimeoutMs);
      if (!row) missing += 1;
      else if (row.status !== deserved) {
        wrong += 1;
        if (wrongExamples.length < 5)
          wrongExamples.push(`${row.id} (${path}): ${row.status}, its receiver said ${deserved}`);
      }
    }
  const publishedIds = new Set(published.map((event) => event.eventId));
  wrong += rows.filter((row) => !publishedIds.has(row.event_id)).length;

  const { rows: attempts } = await pool.query<{ event_id: string; subscription_id: string; attempt: number }>(
    `SELECT d.event_id, d.subscription_id, a.attempt
       FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.tenant_id = $1::text`,
    [tenantId],
  );
  const recorded = new Set(
    attempts.map((a) => `${a.event_id}|${subscriptionPaths.get(a.subscription_id)}|${a.attempt}`),
  );
  let resentAttempts = 0;
  let unexplainedReceipts = 0;
  for (const [key, receipts] of attemptReceipts) {
    if (recorded.has(key)) resentAttempts += receipts - 1;
    else unexplainedReceipts += receipts;
  }
  return {
    published: published.length,
    deliveries: rows.length,
    delivered: rows.filter((row) => row.status === 'delivered').length,
    deadLettered: rows.filter((row) => row.status === 'dead_lettered').length,
    attempts: attempts.length,
    missing,
    wrong,
    wrongExamples,
    resentAttempts,
    unexplainedReceipts,
  };
}

/** How many workflows Temporal's visibility (on Postgres) lists for the tenant, by its TenantId search attribute. */
export async function workflowsVisible(
  address: string,
  namespace: string,
  tenantId: string,
  expected: number,
  timeoutMs: number,
): Promise<number> {
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { count } = await client.workflow.count(`TenantId = '${tenantId}'`);
      if (count >= expected || Date.now() > deadline) return count;
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  } finally {
    await connection.close();
  }
}

interface DashboardPanel {
  title: string;
  targets?: { refId: string; expr: string }[];
}

/**
 * Every query of the Grafana dashboard, asked of Prometheus over the run's window: the names of the panels (and
 * queries) that returned no data. Grafana's $__rate_interval is at least four scrape intervals; a minute is safe.
 */
export async function dashboardPanelsWithoutData(prometheusUrl: string, start: number, end: number) {
  const dashboard = JSON.parse(
    readFileSync(join(projectRoot(), 'docker', 'grafana', 'dashboards', 'webhooks.json'), 'utf8'),
  ) as { panels: DashboardPanel[] };
  const empty: string[] = [];
  let queries = 0;
  for (const panel of dashboard.panels)
    for (const target of panel.targets ?? []) {
      queries += 1;
      const expr = target.expr.replaceAll('$__rate_interval', '1m');
      if ((await seriesWithData(prometheusUrl, expr, start, end)) === 0) empty.push(`${panel.title} (${target.refId})`);
    }
  return { queries, empty };
}
