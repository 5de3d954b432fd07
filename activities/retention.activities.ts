import { RetentionRepository } from '../libs/db/retention.repository';

export interface RetentionActivityDependencies {
  retention: RetentionRepository;
}

export interface PurgeBatchInput {
  retentionMs: number;
  deadLetterRetentionMs: number;
  batchSize: number;
}

export function createRetentionActivities({ retention }: RetentionActivityDependencies) {
  return {
    /** One batch of ended deliveries past their retention, with their attempts; answers how many were deleted. */
    async purgeDeliveriesBatch(input: PurgeBatchInput): Promise<number> {
      return retention.purgeDeliveries(input.retentionMs, input.deadLetterRetentionMs, input.batchSize);
    },
    /** One batch of events past RETENTION that no delivery refers to any more. */
    async purgeEventsBatch(input: PurgeBatchInput): Promise<number> {
      return retention.purgeEvents(input.retentionMs, input.batchSize);
    },
  };
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
