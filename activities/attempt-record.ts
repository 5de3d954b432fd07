import { AttemptsRepository } from '../libs/db/attempts.repository';
import { isDataException } from '../libs/db/pool';
import { printableText } from '../libs/outbound/response-excerpt';
import type { SentAttempt } from './unrecorded-attempts';

/**
 * Records a sent attempt; an answer Postgres refuses as a value is recorded without it, never sent again for it.
 * Answers when the subscription's run of failures began (null: it is not failing).
 */
export async function recordSentAttempt(
  attempts: Pick<AttemptsRepository, 'recordAttempt'>,
  attempt: { deliveryId: string; attempt: number },
  sent: SentAttempt,
  tracksFailures: boolean,
) {
  const row = { deliveryId: attempt.deliveryId, attempt: attempt.attempt, ...sent, tracksFailures };
  try {
    return await attempts.recordAttempt(row);
  } catch (error) {
    if (!isDataException(error)) throw error;
    return attempts.recordAttempt({
      ...row,
      error: row.error === null ? null : printableText(row.error),
      responseExcerpt: `[the answer could not be stored: ${(error as Error).message.slice(0, 200)}]`,
    });
  }
}
