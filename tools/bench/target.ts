import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';

/**
 * The event the bench publishes as the n-th of a tenant's run; a peer is sent the same. Its user is the n-th too, or,
 * with `users`, one of that many in turn (the user is the event's ordering key).
 */
export function benchEvent(tenantId: string, n: number, users?: number) {
  const user = users === undefined ? n : n % users;
  return {
    event_id: `evt_${tenantId}_${n}`,
    event_type: 'user.signed_in',
    tenant: { id: tenantId, slug: 'bench' },
    actor: { kind: 'user', id: `usr_${user}` },
    data: { user: { id: `usr_${user}`, email: `user${user}@example.com` }, ip: '203.0.113.7' },
  };
}

export type BenchEvent = ReturnType<typeof benchEvent>;

/** What the bench's phases drive: the product it launched, or a peer's publish endpoint. */
export interface Target {
  /** The processes whose CPU and memory are counted, by part, each with its descendants; undefined: not known. */
  parts(): Record<string, number | undefined>;
  /** A tenant whose deliveries go to these receiver URLs, one subscription each (with these fields, on the product). */
  subscribe(urls: string[], fields?: Record<string, unknown>): Promise<{ tenantId: string; subscriptionIds: string[] }>;
  publish(event: BenchEvent): Promise<void>;
}

/**
 * One request, answered with its body. Over a rate limit (429) it waits as Retry-After says, as a publisher would,
 * and sends it again; any other answer of 300 or above throws.
 */
export async function send(
  agent: Agent,
  url: string,
  method: 'POST' | 'GET',
  headers: Record<string, string>,
  body?: string,
): Promise<string> {
  const response = await request(url, { method, dispatcher: agent, headers, body });
  const text = await response.body.text();
  if (response.statusCode === 429 && method === 'POST') {
    await sleep(Number(response.headers['retry-after'] ?? 1) * 1000);
    return send(agent, url, method, headers, body);
  }
  if (response.statusCode >= 300) throw new Error(`${method} ${url} answered ${response.statusCode}: ${text}`);
  return text;
}

/** The p-th percentile (nearest rank) of the values; NaN for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
