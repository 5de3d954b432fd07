import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo, Socket } from 'node:net';

export interface ReceivedRequest {
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body's bytes, for receivers of binary payloads (OTLP's protobuf). */
  rawBody: Buffer;
}

export interface Answer {
  status: number;
  /** Holds the answer this long: a slow receiver, or one whose attempts must overlap. */
  delayMs?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** What the receiver does with the n-th request (0-based). */
export type Behaviour = (index: number, request: ReceivedRequest) => Answer;

/**
 * The suite's one real HTTP receiver on 127.0.0.1 (or ::1): it records every request, counts TCP connections
 * (so "refused" can mean no SYN ever reached it, not just no request) and how many requests it holds at once.
 */
export class TestReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** TCP connections accepted, with or without a request on them. */
  connections = 0;
  /** Requests not answered yet (held by a delay), and the most held at once. */
  inFlight = 0;
  peakInFlight = 0;
  private server?: Server;
  private host = '127.0.0.1';
  private behaviour: Behaviour;

  constructor(behaviour: Behaviour = () => ({ status: 200 })) {
    this.behaviour = behaviour;
  }

  /** Answers these statuses in turn, then the last one for every later request. */
  static answering(...statuses: number[]): TestReceiver {
    return new TestReceiver((index) => ({ status: statuses[Math.min(index, statuses.length - 1)] }));
  }

  respondWith(behaviour: Behaviour): void {
    this.behaviour = behaviour;
  }

  /** Answers the URL of its /hook path. */
  async start(host: '127.0.0.1' | '::1' = '127.0.0.1'): Promise<string> {
    this.host = host;
    this.server = createServer((req, res) => {
      this.peakInFlight = Math.max(this.peakInFlight, ++this.inFlight);
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const rawBody = Buffer.concat(chunks);
        const request: ReceivedRequest = {
          at: Date.now(),
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: rawBody.toString('utf8'),
          rawBody,
        };
        const index = this.requests.push(request) - 1;
        const answer = this.behaviour(index, request);
        const send = () => {
          this.inFlight -= 1;
          if (res.destroyed) return;
          res.writeHead(answer.status, answer.headers);
          res.end(answer.body ?? 'ok');
        };
        if (answer.delayMs) setTimeout(send, answer.delayMs).unref();
        else send();
      });
    });
    this.server.on('connection', (_socket: Socket) => (this.connections += 1));
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server!.listen(0, host, resolve));
    return this.url('/hook');
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://${this.host === '::1' ? '[::1]' : this.host}:${this.port}${path}`;
  }

  /** The most requests that arrived within any window of `windowMs`. */
  mostWithin(windowMs: number): number {
    const sorted = this.requests.map((request) => request.at).sort((a, b) => a - b);
    return Math.max(0, ...sorted.map((start, i) => sorted.slice(i).filter((at) => at < start + windowMs).length));
  }

  /** Forgets what it has seen, for a receiver shared by several tests. */
  reset(): void {
    this.requests.length = 0;
    this.connections = 0;
    this.peakInFlight = this.inFlight;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
