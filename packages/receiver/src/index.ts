/**
 * @intelliauth/webhooks-receiver: verifies an IntelliAuth webhook on the receiving side. No dependencies beyond
 * Node's crypto. Give it the raw body exactly as received (not re-serialized JSON), the headers and the
 * subscription's signing secret(s); it returns the parsed event or throws a WebhookVerificationError.
 *
 * It checks the Standard Webhooks headers (webhook-id / webhook-timestamp / webhook-signature, which sign the
 * timestamp too). IntelliAuth sends those with every delivery, so a delivery without them is refused: someone
 * stripped them. The IntelliAuth signature alone (X-IntelliAuth-Signature, a hex HMAC of the body only) is accepted
 * only with `allowBodyOnlySignature`, because its timestamp is not signed and a captured delivery can be replayed
 * with a fresh one. During a secret rotation pass every secret you hold: any valid one passes.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type VerificationFailure =
  | 'missing_headers'
  | 'body_only_signature'
  | 'invalid_timestamp'
  | 'timestamp_out_of_tolerance'
  | 'invalid_signature'
  | 'invalid_secret'
  | 'invalid_json';

export class WebhookVerificationError extends Error {
  constructor(
    readonly code: VerificationFailure,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

export interface VerifiedEvent {
  event_id: string;
  event_type: string;
  occurred_at: string;
  tenant: { id: string; slug?: string };
  actor?: { kind: string; id?: string; email?: string; [key: string]: unknown };
  data: Record<string, unknown>;
  delivery?: { attempt: number; subscription_id: string };
}

export interface VerifyOptions {
  /** How far the signed timestamp may be from now, either way. Default 300 s. */
  toleranceSeconds?: number;
  /** Current Unix time in seconds (tests). */
  nowSeconds?: () => number;
  /**
   * Accept a delivery that carries only X-IntelliAuth-Signature (no webhook-* headers). Off by default: that
   * signature covers the body alone, not X-IntelliAuth-Timestamp, so anyone who captured one delivery can send it
   * again with a fresh timestamp and it passes, for as long as the secret lives. Turn it on only behind something
   * that strips the webhook-* headers, and then dedupe on event_id, which is what stops such a replay.
   */
  allowBodyOnlySignature?: boolean;
}

/** Node's `request.headers` (any case), or a Fetch API `Headers` (Next.js route handlers, Deno, Bun, workers). */
export type WebhookHeaders = Record<string, string | string[] | undefined> | { get(name: string): string | null };

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof headers.get === 'function')
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const direct = record[name] ?? Object.entries(record).find(([key]) => key.toLowerCase() === name)?.[1];
  return Array.isArray(direct) ? direct[0] : direct;
}

function keyOf(secret: string): Buffer {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0)
    throw new WebhookVerificationError('invalid_secret', 'the signing secret is empty or not base64');
  return key;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function verifyWebhook(
  rawBody: string | Uint8Array,
  headers: WebhookHeaders,
  secrets: string | string[],
  options: VerifyOptions = {},
): VerifiedEvent {
  const body = typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody).toString('utf8');
  const keys = (Array.isArray(secrets) ? secrets : [secrets]).map(keyOf);
  const tolerance = options.toleranceSeconds ?? 300;
  const now = options.nowSeconds?.() ?? Math.floor(Date.now() / 1000);

  const id = header(headers, 'webhook-id');
  const standardTimestamp = header(headers, 'webhook-timestamp');
  const standardSignature = header(headers, 'webhook-signature');
  const intelliauthSignature = header(headers, 'x-intelliauth-signature');
  const intelliauthTimestamp = header(headers, 'x-intelliauth-timestamp');

  const useStandard = id !== undefined && standardTimestamp !== undefined && standardSignature !== undefined;
  const bodyOnly = intelliauthSignature !== undefined && intelliauthTimestamp !== undefined;
  if (!useStandard && bodyOnly && options.allowBodyOnlySignature !== true) {
    throw new WebhookVerificationError(
      'body_only_signature',
      'the webhook-id/webhook-timestamp/webhook-signature headers are missing (IntelliAuth sends them with every delivery); ' +
        'X-IntelliAuth-Signature alone does not sign the timestamp, so it is accepted only with allowBodyOnlySignature',
    );
  }
  if (!useStandard && !bodyOnly) {
    throw new WebhookVerificationError(
      'missing_headers',
      'expected webhook-id/webhook-timestamp/webhook-signature (or, with allowBodyOnlySignature, X-IntelliAuth-Signature/X-IntelliAuth-Timestamp)',
    );
  }
  const timestampText = useStandard ? standardTimestamp : intelliauthTimestamp;
  if (!/^\d{1,12}$/.test(timestampText ?? ''))
    throw new WebhookVerificationError('invalid_timestamp', 'the timestamp header is not Unix seconds');
  const timestamp = Number(timestampText);
  if (Math.abs(now - timestamp) > tolerance) {
    throw new WebhookVerificationError(
      'timestamp_out_of_tolerance',
      `the timestamp is more than ${tolerance} s from now; a replay or a skewed clock`,
    );
  }

  const valid = useStandard
    ? standardSignature!
        .split(' ')
        .filter((item) => item.startsWith('v1,'))
        .map((item) => Buffer.from(item.slice(3), 'base64'))
        .some((given) =>
          keys.some((key) => sameBytes(given, createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest())),
        )
    : /^[0-9a-f]{64}$/i.test(intelliauthSignature!) &&
      keys.some((key) =>
        sameBytes(Buffer.from(intelliauthSignature!, 'hex'), createHmac('sha256', key).update(body).digest()),
      );
  if (!valid)
    throw new WebhookVerificationError('invalid_signature', 'no signature matches the body with the given secret(s)');

  try {
    return JSON.parse(body) as VerifiedEvent;
  } catch {
    throw new WebhookVerificationError('invalid_json', 'the signed body is not JSON');
  }
}
