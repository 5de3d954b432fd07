import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOptionsStartWorkflowAction,
  ScheduleSpec,
} from '@temporalio/client';
import type { PurgeBatchInput } from '../../../activities/retention.activities';
import { AppConfig } from '../../../libs/config/config';
import { APP_CONFIG } from '../../../libs/config/config.module';
import { OnDemandTemporalClient } from '../../../libs/temporal/client';
import type { retentionPurgeWorkflow } from '../../../workflows/retention.workflow';

const DEFAULT_TASK_QUEUE = 'webhook-delivery';

/**
 * How long a start keeps trying to set the schedule while Temporal does not answer (a server restarting, a balancer
 * moving): longer than a rolling restart of a Temporal server, shorter than an orchestrator's patience with a start.
 */
const SCHEDULE_SETUP_PATIENCE_MS = 60_000;

/** One schedule per task queue (per deployment sharing a namespace): `retention-purge` for the default one. */
export function retentionScheduleId(taskQueue: string): string {
  return taskQueue === DEFAULT_TASK_QUEUE ? 'retention-purge' : `retention-purge:${taskQueue}`;
}

/**
 * Creates the Temporal Schedule that runs the retention purge, or brings an existing one up to this configuration,
 * at every worker start. Several workers starting at once all end with the same schedule: one creates it, the
 * others see ScheduleAlreadyRunning and update it to the same content. An operator's pause in the Temporal UI
 * survives (the update keeps the schedule's state). RETENTION=0 and DEAD_LETTER_RETENTION=0 delete it.
 */
@Injectable()
export class RetentionScheduleService implements OnApplicationBootstrap {
  private readonly logger = new Logger('retention');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly temporal: OnDemandTemporalClient,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const giveUpAt = Date.now() + SCHEDULE_SETUP_PATIENCE_MS;
    for (let waitMs = 500; ; waitMs = Math.min(waitMs * 2, 8_000)) {
      try {
        return await this.setUpSchedule();
      } catch (error) {
        if (Date.now() + waitMs > giveUpAt) throw error;
        this.logger.warn(
          `the retention schedule could not be set yet (${(error as Error).message}); again in ${waitMs} ms`,
        );
        await sleep(waitMs);
      }
    }
  }

  private async setUpSchedule(): Promise<void> {
    const { retentionMs, deadLetterRetentionMs, purgeIntervalMs, batchSize } = this.config.retention;
    const scheduleId = retentionScheduleId(this.config.temporalTaskQueue);
    const client = await this.temporal.get();
    if (retentionMs === 0 && deadLetterRetentionMs === 0) {
      await client.schedule
        .getHandle(scheduleId)
        .delete()
        .then(() =>
          this.logger.log(
            `RETENTION and DEAD_LETTER_RETENTION are 0: schedule ${scheduleId} deleted, everything is kept`,
          ),
        )
        .catch((error: unknown) => {
          if (!(error instanceof ScheduleNotFoundError)) throw error;
        });
      return;
    }
    const input: PurgeBatchInput = { retentionMs, deadLetterRetentionMs, batchSize };
    const spec: ScheduleSpec = { intervals: [{ every: purgeIntervalMs }] };
    const action: ScheduleOptionsStartWorkflowAction<typeof retentionPurgeWorkflow> = {
      type: 'startWorkflow',
      workflowType: 'retentionPurgeWorkflow',
      workflowId: scheduleId,
      taskQueue: this.config.temporalTaskQueue,
      args: [input],
    };
    // After an outage, one purge catches up; the missed ones would only repeat it.
    const policies = { overlap: 'SKIP', catchupWindow: Math.max(purgeIntervalMs, 60_000) } as const;
    try {
      await client.schedule.create({
        scheduleId,
        spec,
        action,
        policies,
        memo: { purpose: 'Deletes events, deliveries and attempts past RETENTION / DEAD_LETTER_RETENTION' },
      });
      this.logger.log(`schedule ${scheduleId} created: purge every ${purgeIntervalMs / 1000} s`);
    } catch (error) {
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action, policies }));
    }
  }
}
