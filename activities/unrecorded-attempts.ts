import type { SignedDeliveryOutcome } from '../libs/outbound/signed-delivery';

/** A sent attempt as it will be recorded (the body is not kept). */
export type SentAttempt = Omit<SignedDeliveryOutcome, 'body'>;

/** Which attempt of which delivery. */
interface AttemptKey {
  deliveryId: string;
  attempt: number;
}

/** Sent attempts remembered while their record waits for Postgres; past this the oldest are forgotten (resent). */
const UNRECORDED_LIMIT = 1_000;

const keyOf = ({ deliveryId, attempt }: AttemptKey) => `${deliveryId}#${attempt}`;

/**
 * Attempts this worker sent whose record Postgres did not take (it was out of reach): the activity's retry records
 * the answer it already has instead of sending the delivery again.
 */
export class UnrecordedAttempts {
  private readonly sent = new Map<string, SentAttempt>();

  remember(attempt: AttemptKey, sent: SentAttempt & { body?: string }): void {
    const { body: _body, ...kept } = sent;
    const key = keyOf(attempt);
    this.sent.delete(key);
    this.sent.set(key, kept);
    if (this.sent.size > UNRECORDED_LIMIT) this.sent.delete(this.sent.keys().next().value!);
  }

  get(attempt: AttemptKey): SentAttempt | undefined {
    return this.sent.get(keyOf(attempt));
  }

  forget(attempt: AttemptKey): void {
    this.sent.delete(keyOf(attempt));
  }
}
