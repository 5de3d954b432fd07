import { createHash } from 'node:crypto';
import { Agent, Dispatcher, request } from 'undici';
import type { TlsClientCredentials } from '../contracts/receiver-credentials';
import { withoutTracePropagation } from '../observability/trace-context';
import { OutboundPolicy } from './address-policy';
import { describeNetworkError, NetworkFailure } from './attempt-status-class';
import { EgressProxy } from './egress-proxy';
import { guardedConnector, Resolver } from './guarded-connector';
import { printableText, responseExcerpt } from './response-excerpt';

/** Receivers' answers are kept only as a short excerpt; the rest is read and dropped. */
export const RESPONSE_EXCERPT_BYTES = 1024;
/** How every delivery introduces itself to its receiver. */
export const USER_AGENT = 'IntelliAuth-Webhooks/1.0';
/** Past this, a response body is abandoned rather than read to the end. */
const RESPONSE_DRAIN_LIMIT_BYTES = 1024 * 1024;
/** A token endpoint's answer is read whole up to this; a token response is a few hundred bytes. */
const FORM_ANSWER_LIMIT_BYTES = 64 * 1024;
/** Client certificates whose connections are kept open at once; the least recently used one beyond is closed. */
const MAX_CLIENT_CERTIFICATE_AGENTS = 100;

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
  /** WEBHOOK_EGRESS_PROXY: every request leaves through this HTTP proxy (CONNECT); undefined: straight out. */
  egressProxy?: string;
}

/** A form POST's answer (a token endpoint's), or why none arrived. */
export type FormAnswer = { statusCode: number; body: string } | { statusCode: null; error: string };

/**
 * One HTTP POST of a signed body: no redirects followed, one time budget for connect + send + the whole
 * response, every connection judged by the outbound policy (SSRF guard) on the address actually connected to,
 * and every failure returned as data (the workflow owns retries).
 */
export class WebhookSender {
  private readonly dispatcher: Agent;
  /** One agent per client certificate in use (by fingerprint), least recently used first. */
  private readonly certificateAgents = new Map<string, Agent>();
  private readonly proxy: EgressProxy | undefined;
  /** The policy this sender enforces, so the API judges URLs at create time by the same rules. */
  readonly policy: OutboundPolicy;
  private readonly propagateTraceContext: boolean;

  constructor(private readonly options: WebhookSenderOptions) {
    this.policy = options.policy;
    this.propagateTraceContext = options.propagateTraceContext ?? false;
    this.proxy = options.egressProxy === undefined ? undefined : new EgressProxy(options.egressProxy);
    this.dispatcher = this.agent(null);
  }

  private agent(tls: TlsClientCredentials | null): Agent {
    return new Agent({
      keepAliveTimeout: 30_000,
      connections: 64,
      connect: guardedConnector({ policy: this.policy, resolver: this.options.lookup, tls, proxy: this.proxy }),
    });
  }

  /** The agent that presents `tls` (the shared one without a certificate). */
  private dispatcherFor(tls: TlsClientCredentials | null): Dispatcher {
    if (tls === null) return this.dispatcher;
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([tls.certificate, tls.privateKey, tls.ca]))
      .digest('base64');
    const agent = this.certificateAgents.get(fingerprint) ?? this.agent(tls);
    this.certificateAgents.delete(fingerprint);
    this.certificateAgents.set(fingerprint, agent);
    if (this.certificateAgents.size > MAX_CLIENT_CERTIFICATE_AGENTS) {
      const [oldest, evicted] = this.certificateAgents.entries().next().value!;
      this.certificateAgents.delete(oldest);
      void evicted.close();
    }
    return agent;
  }

  /** A POST, with or without our trace context as configured. */
  private post(
    url: string,
    headers: Record<string, string>,
    body: string,
    signal: AbortSignal,
    dispatcher: Dispatcher,
  ) {
    const post = () =>
      request(url, {
        method: 'POST',
        headers: { ...headers, 'user-agent': USER_AGENT },
        body,
        signal,
        dispatcher,
      });
    return this.propagateTraceContext ? post() : withoutTracePropagation(post);
  }

  /**
   * A form POST (an OAuth2 token request) through the same guard, proxy and budget as an attempt; the answer read
   * whole, up to 64 KiB. Failures come back as data, described as an attempt's are.
   */
  async postForm(
    url: string,
    headers: Record<string, string>,
    form: URLSearchParams,
    signal: AbortSignal,
  ): Promise<FormAnswer> {
    try {
      const response = await this.post(
        url,
        { ...headers, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        form.toString(),
        signal,
        this.dispatcher,
      );
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > FORM_ANSWER_LIMIT_BYTES) {
          response.body.destroy();
          return { statusCode: null, error: `answer larger than ${FORM_ANSWER_LIMIT_BYTES} bytes` };
        }
        chunks.push(chunk);
      }
      return { statusCode: response.statusCode, body: Buffer.concat(chunks).toString('utf8') };
    } catch (cause) {
      return { statusCode: null, error: signal.aborted ? 'timeout' : describeNetworkError(cause).kind };
    }
  }

  /**
   * One attempt's POST within `timeoutMs`; `tls` is the client certificate to present to an https:// receiver, and
   * `signal` the attempt's own budget when it began before this POST (a token fetched first).
   */
  async send(
    url: string,
    headers: Record<string, string>,
    body: string,
    timeoutMs: number,
    tls: TlsClientCredentials | null = null,
    signal = AbortSignal.timeout(timeoutMs),
  ): Promise<SendOutcome> {
    const startedAt = new Date();
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    try {
      const response = await this.post(url, headers, body, signal, this.dispatcherFor(tls));
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
        : describeNetworkError(cause, tls?.certificate != null);
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
    await Promise.all([this.dispatcher, ...this.certificateAgents.values()].map((agent) => agent.close()));
    await this.proxy?.close();
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
