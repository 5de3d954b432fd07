import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { BulkRedriveActivities } from '../activities/bulk-redrive.activities';

export const BULK_REDRIVE_BATCH = 100;

/**
 * Redrives every dead letter matching a filter, in bounded batches; progress lives in Postgres (bulk_redrives),
 * so the API reports it and a worker restart resumes where the last batch ended.
 */
export async function bulkRedriveWorkflow(input: { bulkRedriveId: string }): Promise<void> {
  const { redriveBatch } = proxyActivities<BulkRedriveActivities>({
    startToCloseTimeout: '5m',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
  });
  for (;;) {
    const { done } = await redriveBatch({ bulkRedriveId: input.bulkRedriveId, batchSize: BULK_REDRIVE_BATCH });
    if (done) return;
    if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof bulkRedriveWorkflow>(input);
  }
}
