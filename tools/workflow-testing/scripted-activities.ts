import type { AttemptInput, AttemptOutcome, RecordStateInput } from '../../activities/delivery.activities';

export type AttemptKind = AttemptOutcome['kind'];

export interface ScriptOptions {
  /** A failed attempt answers 429 asking for this wait; null: a plain 500. */
  retryAfterMs?: number | null;
  /** How long a throttled attempt is told to wait for a permit. */
  throttleWaitMs: number;
  /** The clock an attempt is recorded at (the test server's skipped clock). */
  now?: () => Promise<number>;
}

/**
 * The delivery activities with scripted attempt outcomes, in order (a missing one fails); every recordDeliveryState
 * call is accepted. Records each attempt (with the time it ran) and each state, for tests that look at them. The
 * real activities have their own tests.
 */
export class ScriptedDeliveryActivities {
  readonly attempts: Array<{ at: number; input: AttemptInput }> = [];
  readonly states: RecordStateInput[] = [];

  constructor(
    private readonly outcomes: AttemptKind[],
    private readonly options: ScriptOptions,
  ) {}

  activities() {
    return {
      attemptDelivery: async (input: AttemptInput): Promise<AttemptOutcome> => {
        this.attempts.push({ at: (await this.options.now?.()) ?? Date.now(), input });
        const kind = this.outcomes[this.attempts.length - 1] ?? 'failed';
        if (kind === 'stopped') return { kind, reason: 'subscription_disabled' };
        if (kind === 'throttled') return { kind, retryInMs: this.options.throttleWaitMs };
        if (kind === 'delivered') return { kind, statusCode: 200, error: null };
        const retryAfterMs = this.options.retryAfterMs ?? null;
        return {
          kind: 'failed',
          statusCode: retryAfterMs === null ? 500 : 429,
          error: 'receiver answered',
          retryAfterMs,
        };
      },
      recordDeliveryState: async (input: RecordStateInput): Promise<void> => {
        this.states.push(input);
      },
    };
  }

  /** The time between consecutive attempts. */
  gaps(): number[] {
    return this.attempts.slice(1).map((attempt, i) => attempt.at - this.attempts[i].at);
  }
}
