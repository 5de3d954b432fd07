import { EventType, filterEntriesMatching } from '../libs/contracts/catalogue';
import {
  BatchProgress,
  BulkRedrivesRepository,
  JobPosition,
  toDeliveryFilter,
} from '../libs/db/bulk-redrives.repository';
import { DeliveriesRepository } from '../libs/db/deliveries.repository';
import { ReplayCandidate, ReplaysRepository } from '../libs/db/replays.repository';
import { SubscriptionsRepository } from '../libs/db/subscriptions.repository';
import type { DeadLetterRedriver, RedriveOutcome } from '../libs/temporal/dead-letter-redriver';

export interface BulkRedriveActivityDependencies {
  bulkRedrives: BulkRedrivesRepository;
  deliveries: DeliveriesRepository;
  replays: ReplaysRepository;
  subscriptions: Pick<SubscriptionsRepository, 'get'>;
  redriver: Pick<DeadLetterRedriver, 'redrive' | 'claimResend' | 'start'>;
}

/** Redrives (or a replay's takes) started at once within a batch. */
const PARALLEL_REDRIVES = 10;

/** Runs `work` over `items`, PARALLEL_REDRIVES at a time; answers every outcome in order. */
async function inParallel<T, R>(items: T[], work: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const outcomes: PromiseSettledResult<R>[] = [];
  for (let i = 0; i < items.length; i += PARALLEL_REDRIVES)
    outcomes.push(...(await Promise.allSettled(items.slice(i, i + PARALLEL_REDRIVES).map(work))));
  return outcomes;
}

/** Whether a replay takes the event: the subscription matches it now, and it passes the replay's own filters. */
function replayTakes(
  candidate: ReplayCandidate,
  subscribed: readonly string[],
  filter: { event_types?: string[]; only_failed: boolean },
): boolean {
  const entries = filterEntriesMatching(candidate.event_type as EventType);
  if (!entries.some((entry) => subscribed.includes(entry))) return false;
  if (filter.event_types !== undefined && !entries.some((entry) => filter.event_types!.includes(entry))) return false;
  return !filter.only_failed || candidate.delivery_status === 'dead_lettered';
}

export function createBulkRedriveActivities({
  bulkRedrives,
  deliveries,
  replays,
  subscriptions,
  redriver,
}: BulkRedriveActivityDependencies) {
  /**
   * Dead letters matching the job's filter. Running a batch twice (activity retried) is harmless: a dead letter
   * already redriven is no longer one, and counts as skipped.
   */
  async function deadLetterBatch(
    position: Extract<JobPosition, { kind: 'dead_letters' }>,
    batchSize: number,
  ): Promise<BatchProgress> {
    const ids = await deliveries.deadLettersForBulkRedrive(
      toDeliveryFilter(position.filter),
      position.cutoff,
      position.lastId,
      batchSize,
    );
    const progress = {
      matched: ids.length,
      redriven: 0,
      skipped: 0,
      failed: 0,
      lastId: ids.at(-1) ?? null,
      done: ids.length < batchSize,
    };
    for (const outcome of await inParallel(ids, (id) => redriver.redrive(id, undefined))) {
      if (outcome.status === 'rejected' || outcome.value.kind === 'still_running') progress.failed += 1;
      else if (outcome.value.kind === 'redriven') progress.redriven += 1;
      else progress.skipped += 1;
    }
    return progress;
  }

  /**
   * The subscription's tenant's events in the replay's window that it matches now: each ended delivery resent, each
   * missing one created. A batch run again after its worker died finds what it took in replay_deliveries and sends
   * nothing twice; a start that failed is let go and the batch fails, so its next try takes it again.
   */
  async function replayBatch(
    jobId: string,
    position: Extract<JobPosition, { kind: 'replay' }>,
    batchSize: number,
  ): Promise<BatchProgress> {
    const subscription = await subscriptions.get(position.filter.subscription_id, undefined);
    const nothingLeft = { matched: 0, redriven: 0, skipped: 0, failed: 0, lastId: null, done: true };
    // Deleted meanwhile: there is nothing left to deliver to.
    if (subscription === undefined) return nothingLeft;
    const candidates = await replays.candidates(
      position.filter,
      subscription.tenant_id,
      position.cutoff,
      position,
      batchSize,
    );
    const taken = candidates.filter((candidate) => replayTakes(candidate, subscription.event_types, position.filter));
    const progress = {
      matched: taken.length,
      redriven: 0,
      skipped: 0,
      failed: 0,
      lastId: candidates.at(-1)?.event_id ?? null,
      lastAt: candidates.at(-1)?.occurred_at ?? null,
      done: candidates.length < batchSize,
    };
    const outcomes = await inParallel(taken, async (candidate): Promise<RedriveOutcome | 'started' | 'active'> => {
      const take = await replays.take(jobId, candidate, subscription, (db) =>
        redriver.claimResend(candidate.delivery_id!, subscription.tenant_id, db),
      );
      // Created (the relay starts it), or taken by an earlier try (started then, or by the relay after its lease).
      if (take.kind === 'created' || take.kind === 'taken') return 'started';
      if (take.kind === 'active') return 'active';
      const started = await redriver.start(take.claim).catch(async (error: unknown) => {
        await replays.release(jobId, take.claim.id);
        throw error;
      });
      if (started.kind !== 'redriven') await replays.refused(jobId, take.claim.id);
      return started;
    });
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') throw outcome.reason;
      if (outcome.value === 'active') progress.skipped += 1;
      else if (outcome.value === 'started' || outcome.value.kind === 'redriven') progress.redriven += 1;
      else progress.failed += 1;
    }
    return progress;
  }

  return {
    /**
     * Handles the job's next batch, dead letters (a bulk redrive) or events (a replay), and records the progress.
     */
    async redriveBatch(input: { bulkRedriveId: string; batchSize: number }): Promise<{ done: boolean }> {
      const position = await bulkRedrives.position(input.bulkRedriveId);
      if (!position || position.status !== 'running') return { done: true };
      const progress =
        position.kind === 'replay'
          ? await replayBatch(input.bulkRedriveId, position, input.batchSize)
          : await deadLetterBatch(position, input.batchSize);
      await bulkRedrives.recordBatch(input.bulkRedriveId, progress);
      return { done: progress.done };
    },
  };
}

export type BulkRedriveActivities = ReturnType<typeof createBulkRedriveActivities>;
