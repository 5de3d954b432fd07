import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

const SLOW_RECEIVER_MS = 5_000;

/**
 * The receiver: paths /slow/<n> answer 200 after 5 s, every other path at once; notes every arrival per event and
 * path (one path per subscription). The event is named by this product's X-IntelliAuth-Event-Id header, else by the
 * `event_id` of the body, which is how a peer's deliveries of the same payload are told apart.
 */
export class BenchReceiver {
  readonly arrivals = new Map<string, number[]>();
  received = 0;
  /** When the latest arrival came (performance.now()). */
  lastArrivalAt = 0;
  private readonly server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const header = req.headers['x-intelliauth-event-id'];
    const chunks: Buffer[] = [];
    if (header) req.resume();
    else req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const eventId = header
        ? String(header)
        : (/"event_id"\s*:\s*"([^"]+)"/.exec(Buffer.concat(chunks).toString('utf8'))?.[1] ?? '');
      if (eventId) {
        const key = `${eventId} ${req.url}`;
        const list = this.arrivals.get(key) ?? [];
        this.lastArrivalAt = performance.now();
        list.push(this.lastArrivalAt);
        this.arrivals.set(key, list);
        this.received += 1;
      }
      if (req.url?.startsWith('/slow')) setTimeout(() => res.end('ok'), SLOW_RECEIVER_MS);
      else res.end('ok');
    });
  });
  url = '';

  /** Port 0 takes a free one. */
  async start(host = '127.0.0.1', port = 0): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.arrivals.clear();
    this.received = 0;
    this.lastArrivalAt = 0;
  }

  stop(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}
