import { setTimeout as sleep } from 'node:timers/promises';
import { ListenAnswer, ListenSessionsRepository } from '../db/listen-sessions.repository';
import { printableText } from './response-excerpt';
import type { DeliverySender } from './signed-delivery';
import { answerError, parseRetryAfter, RESPONSE_EXCERPT_BYTES, SendOutcome, USER_AGENT } from './webhook-sender';

/**
 * How often a handed-off attempt looks for its answer. A listen session is one developer's tool, so few attempts
 * wait at once; a short look at one row by its key costs less than a LISTEN connection in every process.
 */
const ANSWER_CHECK_MS = 100;

/**
 * The send of a listen session: instead of POSTing, the attempt hands its signed request (the same headers and body
 * bytes a POST would carry) to the session, and waits within its timeout for the tool's answer, which it takes as
 * the receiver's. No answer in time is a timeout, like a receiver that never answered.
 */
export class ListenHandoff {
  constructor(private readonly sessions: ListenSessionsRepository) {}

  /** The sender of one session's attempts. */
  to(subscriptionId: string): DeliverySender {
    return { send: (_url, headers, body, timeoutMs) => this.handOff(subscriptionId, headers, body, timeoutMs) };
  }

  private async handOff(
    subscriptionId: string,
    headers: Record<string, string>,
    body: string,
    timeoutMs: number,
  ): Promise<SendOutcome> {
    const startedAt = new Date();
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const requestId = await this.sessions.addRequest(
      subscriptionId,
      { ...headers, 'user-agent': USER_AGENT },
      body,
      timeoutMs,
    );
    try {
      for (let left = timeoutMs; left > 0; left = timeoutMs - elapsed()) {
        await sleep(Math.min(ANSWER_CHECK_MS, left));
        const answer = await this.sessions.answerOf(requestId);
        if (answer !== undefined) return outcomeOf(answer, startedAt, elapsed());
      }
    } finally {
      await this.sessions.deleteRequest(requestId);
    }
    return {
      startedAt,
      durationMs: elapsed(),
      statusCode: null,
      error: `no answer from the listen session within ${timeoutMs} ms`,
      responseExcerpt: null,
      retryAfterMs: null,
      networkFailure: 'timeout',
    };
  }
}

/** The tool's report, read as a receiver's answer; what it says is bounded as an answer over HTTP would be. */
function outcomeOf(answer: ListenAnswer, startedAt: Date, elapsedMs: number): SendOutcome {
  const { status_code: statusCode } = answer;
  const bounded = (text: string | null, length: number) =>
    text === null ? null : printableText(text.slice(0, length));
  return {
    startedAt,
    durationMs: Math.min(Math.max(0, answer.duration_ms), elapsedMs),
    statusCode,
    error:
      statusCode === null ? `local receiver: ${bounded(answer.error, 300) ?? 'no answer'}` : answerError(statusCode),
    responseExcerpt: bounded(answer.response_excerpt, RESPONSE_EXCERPT_BYTES),
    retryAfterMs: statusCode === 429 || statusCode === 503 ? parseRetryAfter(answer.retry_after ?? undefined) : null,
    networkFailure: statusCode === null ? 'network' : null,
  };
}
