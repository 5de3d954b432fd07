import { Agent } from 'undici';
import { BenchEvent, send, Target } from './target';

/**
 * A peer's publish endpoint (BENCH_COMPARE_URL), sent the bench's own events. BENCH_COMPARE_BODY wraps each one as
 * the peer's API wants it, `{{event}}` standing for the event's JSON and `{{event_id}}` for its id (default: the
 * event as it is); BENCH_COMPARE_HEADERS, a JSON object, adds headers such as its authorization. The peer's
 * subscriptions are its own to set up, pointing at the bench's receiver; BENCH_COMPARE_PIDS (`name=pid,...`) names
 * its processes, whose CPU and memory are then counted as the product's are.
 */
export class PeerTarget implements Target {
  private tenants = 0;
  private readonly headers: Record<string, string>;
  private readonly template: string;
  private readonly pids: Record<string, number>;

  constructor(
    private readonly url: string,
    env: NodeJS.ProcessEnv,
    private readonly agent: Agent,
  ) {
    this.headers = { 'content-type': 'application/json', ...JSON.parse(env.BENCH_COMPARE_HEADERS || '{}') };
    this.template = env.BENCH_COMPARE_BODY || '{{event}}';
    this.pids = Object.fromEntries(
      (env.BENCH_COMPARE_PIDS || '')
        .split(',')
        .filter((entry) => entry.trim() !== '')
        .map((entry) => {
          const [name, pid] = entry.split('=').map((part) => part.trim());
          if (!name || !/^\d+$/.test(pid ?? '')) throw new Error(`BENCH_COMPARE_PIDS: "${entry}" is not name=pid`);
          return [name, Number(pid)];
        }),
    );
  }

  parts(): Record<string, number> {
    return this.pids;
  }

  /** The peer's endpoints are set up beforehand: a tenant here is only the prefix of a phase's event ids. */
  async subscribe(): Promise<{ tenantId: string; subscriptionIds: string[] }> {
    return { tenantId: `tnt_bench_${++this.tenants}_${Date.now().toString(36)}`, subscriptionIds: [] };
  }

  async publish(event: BenchEvent): Promise<void> {
    const body = this.template
      .replaceAll('{{event}}', JSON.stringify(event))
      .replaceAll('{{event_id}}', event.event_id);
    await send(this.agent, this.url, 'POST', this.headers, body);
  }
}
