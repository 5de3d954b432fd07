import { createHash } from 'node:crypto';
import { CountingReceiver } from '../faults/harness';

/** Whether a receiver answers an attempt badly: deterministic per (event, attempt), so a re-sent attempt gets the same answer. */
function decides(eventId: string, attempt: number, salt: string, rate: number): boolean {
  return createHash('sha256').update(`${salt}#${eventId}#${attempt}`).digest()[0] < rate * 256;
}

/**
 * The receivers' known mix, one subscription each: `ok` (user.*) answers 200; `flaky` (*) answers 500 to about 30 %
 * of attempts; `down` (security.*) always 500; `slow` (user.*) lets about half of the attempts run past the
 * attempt timeout.
 */
export const SUBSCRIPTIONS = { ok: ['user.*'], flaky: ['*'], down: ['security.*'], slow: ['user.*'] } as const;
export type SubscriptionName = keyof typeof SUBSCRIPTIONS;

export function answerOf(
  path: string,
  eventId: string,
  attempt: number,
  attemptTimeoutMs: number,
): { status: number; delayMs?: number } {
  switch (path) {
    case '/flaky':
      return { status: decides(eventId, attempt, 'flaky', 0.3) ? 500 : 200 };
    case '/down':
      return { status: 500 };
    case '/slow':
      return decides(eventId, attempt, 'slow', 0.5) ? { status: 200, delayMs: attemptTimeoutMs * 3 } : { status: 200 };
    default:
      return { status: 200 };
  }
}

/** How a delivery to `path` must end over `attempts` attempts, given the receiver's answers. */
export function deservedStatus(path: string, eventId: string, attempts: number, attemptTimeoutMs: number): string {
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const { status, delayMs } = answerOf(path, eventId, attempt, attemptTimeoutMs);
    if (status === 200 && delayMs === undefined) return 'delivered';
  }
  return 'dead_lettered';
}

export function subscribedPaths(eventType: string): string[] {
  return (Object.entries(SUBSCRIPTIONS) as [SubscriptionName, readonly string[]][])
    .filter(([, patterns]) => patterns.some((pattern) => pattern === '*' || eventType.startsWith(pattern.slice(0, -1))))
    .map(([name]) => `/${name}`);
}

/**
 * One receiver per subscription, each on a port of its own as distinct receivers are distinct origins (a slow one
 * holding its connections must not queue the others' attempts), answering by path; receipts are also counted per
 * attempt number.
 */
export function attemptReceivers(attemptTimeoutMs: number): {
  receivers: Map<SubscriptionName, CountingReceiver>;
  /** Receipts per `event|path|attempt`: the same attempt received twice is a re-sent attempt. */
  attemptReceipts: Map<string, number>;
} {
  const attemptReceipts = new Map<string, number>();
  const answer = (path: string, eventId: string, attempt: number) => {
    const key = `${eventId}|${path}|${attempt}`;
    attemptReceipts.set(key, (attemptReceipts.get(key) ?? 0) + 1);
    return answerOf(path, eventId, attempt, attemptTimeoutMs);
  };
  const names = Object.keys(SUBSCRIPTIONS) as SubscriptionName[];
  return { receivers: new Map(names.map((name) => [name, new CountingReceiver(answer)])), attemptReceipts };
}

export interface Published {
  eventId: string;
  eventType: string;
  latencyMs: number;
}

export interface PublishOptions {
  apiUrls: string[];
  apiKey: string;
  tenantId: string;
  /** Unique per run and phase: event ids are `evt_<prefix>_<n>`. */
  prefix: string;
  count: number;
  parallel: number;
  /** Events per second over all publishers; undefined publishes as fast as answers come. */
  rate?: number;
  stop?: () => boolean;
}

/**
 * Publishers spread over every api: each event goes to the next api; one that fails (an api restarting, Postgres
 * down) is published again with the same event id, which is idempotent, on the next api, until one accepts it.
 */
export async function publish(options: PublishOptions): Promise<Published[]> {
  const published: Published[] = [];
  const startedAt = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: options.parallel }, async () => {
      while (next < options.count && !options.stop?.()) {
        const n = next++;
        if (options.rate) {
          const due = startedAt + (n * 1000) / options.rate;
          if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
        }
        const eventType = n % 3 === 2 ? 'security.brute_force_detected' : 'user.updated';
        const eventId = `evt_${options.prefix}_${n}`;
        const data = eventType === 'user.updated' ? { user: { id: `usr_${n}` } } : { ip: '203.0.113.9' };
        const body = JSON.stringify({
          event_id: eventId,
          event_type: eventType,
          tenant: { id: options.tenantId },
          data,
        });
        for (let tries = 0; ; tries++) {
          const url = options.apiUrls[(n + tries) % options.apiUrls.length];
          const sent = Date.now();
          const status = await fetch(`${url}/v1/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' },
            body,
            signal: AbortSignal.timeout(30_000),
          }).then(
            (response) => response.arrayBuffer().then(() => response.status),
            () => 0,
          );
          if (status === 202) {
            published.push({ eventId, eventType, latencyMs: Date.now() - sent });
            break;
          }
          if (status >= 400 && status < 500 && status !== 429) throw new Error(`publish ${eventId}: ${status}`);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    }),
  );
  return published;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
