import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { PurgeBatchInput, RetentionActivities } from '../activities/retention.activities';

export interface RetentionPurgeResult {
  deliveries: number;
  events: number;
}

/**
 * Started by the `retention-purge` Temporal Schedule: deletes ended deliveries (with their attempts) past their
 * retention, batch after batch, then the events no delivery refers to any more. Each batch is its own activity, so
 * a worker restart resumes with the next batch; deleting is idempotent, so a retried batch is harmless.
 */
export async function retentionPurgeWorkflow(
  input: PurgeBatchInput,
  purgedSoFar: RetentionPurgeResult = { deliveries: 0, events: 0 },
): Promise<RetentionPurgeResult> {
  const { purgeDeliveriesBatch, purgeEventsBatch } = proxyActivities<RetentionActivities>({
    startToCloseTimeout: '5m',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 },
  });
  const purged = { ...purgedSoFar };
  for (const [kind, purgeBatch] of [
    ['deliveries', purgeDeliveriesBatch],
    ['events', purgeEventsBatch],
  ] as const) {
    for (;;) {
      const deleted = await purgeBatch(input);
      purged[kind] += deleted;
      if (deleted < input.batchSize) break;
      // A long backlog (the first purge of a large database) goes on in a fresh run instead of one huge history.
      if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof retentionPurgeWorkflow>(input, purged);
    }
  }
  return purged;
}
