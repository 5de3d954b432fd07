import { createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/** `whsec_` + base64 of 32 random bytes, the Standard Webhooks / Svix secret shape. */
export function generateSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** The HMAC key for both signatures: the decoded bytes after the prefix. */
export function signingKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('signing secret lacks the whsec_ prefix');
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
}

/** The IntelliAuth signature, `X-IntelliAuth-Signature`: hex HMAC-SHA256 over the exact body bytes. */
export function intelliauthSignature(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(body, 'utf8').digest('hex');
}

/** One Standard Webhooks `v1,` item: base64 HMAC-SHA256 over `id.timestamp.body`. */
export function standardSignature(key: Buffer, messageId: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', key).update(`${messageId}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}

export interface SignedHeadersInput {
  /** Valid secrets, newest first: the newest signs the IntelliAuth signature, every one signs `webhook-signature`. */
  secrets: string[];
  eventId: string;
  eventType: string;
  attempt: number;
  timestampSeconds: number;
  body: string;
}

/** The product contract's five headers plus the Standard Webhooks three, for one attempt. */
export function deliveryHeaders(input: SignedHeadersInput): Record<string, string> {
  if (input.secrets.length === 0) throw new Error('a delivery needs at least one signing secret');
  const keys = input.secrets.map(signingKey);
  return {
    'content-type': 'application/json',
    'x-intelliauth-signature': intelliauthSignature(keys[0], input.body),
    'x-intelliauth-event-id': input.eventId,
    'x-intelliauth-event-type': input.eventType,
    'x-intelliauth-delivery-attempt': String(input.attempt),
    'x-intelliauth-timestamp': String(input.timestampSeconds),
    'webhook-id': input.eventId,
    'webhook-timestamp': String(input.timestampSeconds),
    'webhook-signature': keys
      .map((key) => standardSignature(key, input.eventId, input.timestampSeconds, input.body))
      .join(' '),
  };
}
