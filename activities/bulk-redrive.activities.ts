import { BulkRedrivesRepository, toDeliveryFilter } from '../libs/db/bulk-redrives.repository';
import { DeliveriesRepository } from '../libs/db/deliveries.repository';
import type { DeadLetterRedriver } from '../libs/temporal/dead-letter-redriver';

export interface BulkRedriveActivityDependencies {
  bulkRedrives: BulkRedrivesRepository;
  deliveries: DeliveriesRepository;
  redriver: Pick<DeadLetterRedriver, 'redrive'>;
}

/** Redrives started at once within a batch. */
const PARALLEL_REDRIVES = 10;

export function createBulkRedriveActivities({ bulkRedrives, deliveries, redriver }: BulkRedriveActivityDependencies) {
  return {
    /**
     * Redrives the next batch of dead letters matching the job's filter and records the progress. Running a batch
     * twice (activity retried) is harmless: a dead letter already redriven is no longer one, and counts as skipped.
     */
    async redriveBatch(input: { bulkRedriveId: string; batchSize: number }): Promise<{ done: boolean }> {
      const position = await bulkRedrives.position(input.bulkRedriveId);
      if (!position || position.status !== 'running') return { done: true };
      const ids = await deliveries.deadLettersForBulkRedrive(
        toDeliveryFilter(position.filter),
        position.cutoff,
        position.lastId,
        input.batchSize,
      );
      const progress = {
        matched: ids.length,
        redriven: 0,
        skipped: 0,
        failed: 0,
        lastId: ids.at(-1) ?? null,
        done: ids.length < input.batchSize,
      };
      for (let i = 0; i < ids.length; i += PARALLEL_REDRIVES) {
        const outcomes = await Promise.allSettled(
          ids.slice(i, i + PARALLEL_REDRIVES).map((id) => redriver.redrive(id, undefined)),
        );
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected' || outcome.value.kind === 'still_running') progress.failed += 1;
          else if (outcome.value.kind === 'redriven') progress.redriven += 1;
          else progress.skipped += 1;
        }
      }
      await bulkRedrives.recordBatch(input.bulkRedriveId, progress);
      return { done: progress.done };
    },
  };
}

export type BulkRedriveActivities = ReturnType<typeof createBulkRedriveActivities>;
