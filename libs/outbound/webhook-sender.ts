import { Agent, request } from 'undici';
import { withoutTracePropagation } from '../observability/trace-context';
import { OutboundPolicy } from './address-policy';
import { NetworkFailure } from './attempt-status-class';
import { guardedConnector, Resolver } from './guarded-connector';
import { printableText, responseExcerpt } from './response-excerpt';

/** Receivers' answers are kept only as a short excerpt; the rest is read and dropped. */
export const RESPONSE_EXCERPT_BYTES = 1024;
/** How every delivery introduces itself to its receiver. */
export const USER_AGENT = 'IntelliAuth-Webhooks/1.0';
/** Past this, a response body is abandoned rather than read to the end. */
const RESPONSE_DRAIN_LIMIT_BYTES = 1024 * 1024;

export interface SendOutcome {
  startedAt: Date;
  durationMs: number;
  /** null when no HTTP response arrived (refused, timed out, DNS, TLS). */
  statusCode: number | null;
  error: string | null;
  responseExcerpt: string | null;
  /** A 429's or 503's Retry-After, in ms from now (seconds or an HTTP date); null otherwise. */
  retryAfterMs: number | null;
  /** What kept a response from arriving, in a word for metrics (null when one arrived). */
  networkFailure: NetworkFailure | null;
}

/** `Retry-After: 120` or `Retry-After: Wed, 21 Oct 2026 07:28:00 GMT`, as ms from now; null when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs = Date.now()): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return null;
  if (/^\s*\d{1,9}\s*$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/** What a receiver's answer means for the attempt, in words: null for a 2xx; redirects are never followed. */
export function answerError(statusCode: number, location?: string | string[]): string | null {
  if (statusCode >= 300 && statusCode < 400)
    return `redirect (${statusCode}${location ? ` to ${printableText(String(location).slice(0, 200))}` : ''}) not followed`;
  if (statusCode < 200 || statusCode >= 300) return `receiver answered ${statusCode}`;
  return null;
}

export interface WebhookSenderOptions {
  /** Which addresses may be connected to (WEBHOOK_ALLOWED_TARGETS); judged at connect time, after DNS. */
  policy: OutboundPolicy;
  /** Hostname resolution; dnsResolver() (c-ares, off the threadpool) unless a test injects one. */
  lookup?: Resolver;
  /** OTEL_PROPAGATE_TO_RECEIVERS: send `traceparent` (when tracing); off, receivers learn nothing of our traces. */
  propagateTraceContext?: boolean;
}

/**
 * One HTTP POST of a signed body: no redirects followed, one time budget for connect + send + the whole
 * response, every connection judged by the outbound policy (SSRF guard) on the address actually connected to,
 * and every failure returned as data (the workflow owns retries).
 */
export class WebhookSender {
  private readonly dispatcher: Agent;
  /** The policy this sender enforces, so the API judges URLs at create time by the same rules. */
  readonly policy: OutboundPolicy;
  private readonly propagateTraceContext: boolean;

  constructor(options: WebhookSenderOptions) {
    this.policy = options.policy;
    this.propagateTraceContext = options.propagateTraceContext ?? false;
    this.dispatcher = new Agent({
      keepAliveTimeout: 30_000,
      connections: 64,
      connect: guardedConnector({ policy: options.policy, resolver: options.lookup }),
    });
  }

  async send(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<SendOutcome> {
    const startedAt = new Date();
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const post = () =>
        request(url, {
          method: 'POST',
          headers: { ...headers, 'user-agent': USER_AGENT },
          body,
          signal,
          dispatcher: this.dispatcher,
        });
      const response = await (this.propagateTraceContext ? post() : withoutTracePropagation(post));
      const responseExcerpt = await readExcerpt(response.body, response.headers);
      const { statusCode } = response;
      const error = answerError(statusCode, response.headers.location);
      const retryAfterMs =
        statusCode === 429 || statusCode === 503 ? parseRetryAfter(response.headers['retry-after']) : null;
      return {
        startedAt,
        durationMs: elapsed(),
        statusCode,
        error,
        responseExcerpt,
        retryAfterMs,
        networkFailure: null,
      };
    } catch (cause) {
      const failure: { kind: NetworkFailure; error: string } = signal.aborted
        ? { kind: 'timeout', error: `no complete response within ${timeoutMs} ms` }
        : describeNetworkError(cause);
      return {
        startedAt,
        durationMs: elapsed(),
        statusCode: null,
        error: printableText(failure.error),
        responseExcerpt: null,
        retryAfterMs: null,
        networkFailure: failure.kind,
      };
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

async function readExcerpt(
  body: AsyncIterable<Buffer> & { destroy(): void },
  headers: Record<string, string | string[] | undefined>,
): Promise<string | null> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let totalBytes = 0;
  let abandoned = false;
  for await (const chunk of body) {
    if (keptBytes < RESPONSE_EXCERPT_BYTES) {
      const part = chunk.subarray(0, RESPONSE_EXCERPT_BYTES - keptBytes);
      kept.push(part);
      keptBytes += part.length;
    }
    totalBytes += chunk.length;
    if (totalBytes > RESPONSE_DRAIN_LIMIT_BYTES) {
      abandoned = true;
      body.destroy();
      break;
    }
  }
  const first = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  return responseExcerpt({
    head: Buffer.concat(kept),
    totalBytes,
    abandoned,
    contentType: first('content-type'),
    contentEncoding: first('content-encoding'),
  });
}

function describeNetworkError(cause: unknown): { kind: NetworkFailure; error: string } {
  const error = cause as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = error.code ?? error.cause?.code;
  switch (code) {
    case 'ERR_OUTBOUND_REFUSED':
      // The SSRF guard's own message: which address, and why it is not allowed.
      return {
        kind: 'ssrf_refused',
        error: ((error.code === code ? error.message : error.cause?.message) ?? String(cause)).slice(0, 300),
      };
    case 'ECONNREFUSED':
      return { kind: 'refused', error: 'connection refused' };
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return { kind: 'network', error: 'connection reset before a complete response' };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEOUT':
      return { kind: 'network', error: `DNS lookup failed (${code})` };
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { kind: 'timeout', error: 'connect timed out' };
    default:
      if (code?.startsWith('ERR_TLS') || code?.startsWith('CERT_') || code?.includes('SSL'))
        return { kind: 'network', error: `TLS error (${code})` };
      return { kind: 'network', error: `request failed: ${(error.message ?? String(cause)).slice(0, 300)}` };
  }
}
