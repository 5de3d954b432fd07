import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { freePort } from '../../tools/embedded/free-port';

export interface ReceivedRequest {
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the receiver does with the n-th request (0-based). */
export type Behaviour = (index: number, request: ReceivedRequest) => { status: number; delayMs?: number; headers?: Record<string, string>; body?: string };

/** A real HTTP receiver on 127.0.0.1 that records every request it gets. */
export class TestReceiver {
  readonly requests: ReceivedRequest[] = [];
  private server?: Server;
  private behaviour: Behaviour;

  constructor(behaviour: Behaviour = () => ({ status: 200 })) {
    this.behaviour = behaviour;
  }

  static answering(...statuses: number[]): TestReceiver {
    return new TestReceiver((index) => ({ status: statuses[Math.min(index, statuses.length - 1)] }));
  }

  respondWith(behaviour: Behaviour): void {
    this.behaviour = behaviour;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request: ReceivedRequest = { at: Date.now(), method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        const index = this.requests.push(request) - 1;
        const answer = this.behaviour(index, request);
        const send = () => {
          if (res.destroyed) return;
          res.writeHead(answer.status, answer.headers);
          res.end(answer.body ?? 'ok');
        };
        if (answer.delayMs) setTimeout(send, answer.delayMs).unref();
        else send();
      });
    });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.url('/hook');
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}${path}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** A port on 127.0.0.1 where nothing listens (bound, then released). */
export const closedPort = freePort;

export async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
