import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../../../../libs/config/config';
import { APP_CONFIG } from '../../../../libs/config/config.module';
import { BulkRedrivesRepository, BulkRedriveView, ReplayFilter } from '../../../../libs/db/bulk-redrives.repository';
import { OperatorActionsRepository } from '../../../../libs/db/operator-actions.repository';
import { ReplaysRepository } from '../../../../libs/db/replays.repository';
import { SubscriptionsRepository } from '../../../../libs/db/subscriptions.repository';
import { requireTenantQuota } from '../../../../libs/db/tenant-quotas';
import { DeadLetterRedriver } from '../../../../libs/temporal/dead-letter-redriver';
import { Principal, scopeOf } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { requireEventTypeFilters } from '../common/event-types';
import { withinTenantQuota } from '../common/tenant-quota';
import { BodyValidator } from '../common/validation';
import { replayRequestSchema } from './replay.schemas';

const replayValidator = BodyValidator.of(replayRequestSchema);

const invalidWindow = (problem: string, message: string, details?: Record<string, unknown>) =>
  new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, problem, message, details);

@Injectable()
export class ReplaysService {
  constructor(
    private readonly subscriptions: SubscriptionsRepository,
    private readonly bulkRedrives: BulkRedrivesRepository,
    private readonly replays: ReplaysRepository,
    private readonly redriver: DeadLetterRedriver,
    private readonly operatorActions: OperatorActionsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Starts a replay of the subscription's events in the window, within the tenant's quota of running replays. */
  async replay(principal: Principal, subscriptionId: string, body: unknown) {
    const input = replayValidator.parse(body);
    const subscription = await this.subscriptions.get(subscriptionId, scopeOf(principal));
    if (!subscription) throw ApiError.notFound('subscription', subscriptionId);
    if (!subscription.enabled)
      throw new ApiError(
        HttpStatus.CONFLICT,
        'subscription_disabled',
        `subscription ${subscriptionId} is disabled; enable it first, or every replayed delivery would stop at once`,
      );
    const filter: ReplayFilter = {
      subscription_id: subscriptionId,
      ...this.window(input.from, input.to),
      only_failed: input.only_failed ?? false,
    };
    if (input.event_types !== undefined) filter.event_types = requireEventTypeFilters(input.event_types);
    const created = await withinTenantQuota(() =>
      this.operatorActions.changeAndRecord(
        async (client) => {
          await requireTenantQuota(
            client,
            'running_replays',
            subscription.tenant_id,
            this.config.quotas.runningReplays,
          );
          return this.bulkRedrives.createReplay(subscription.tenant_id, filter, principal.actor, client);
        },
        (job) => ({
          tenantId: job.tenant_id,
          action: 'subscription.replay',
          targetType: 'subscription',
          targetId: subscriptionId,
          actor: principal.actor,
          details: { replay_id: job.id, filter },
        }),
      ),
    );
    const { result: job, actionId } = created!;
    await this.operatorActions.carryOut(actionId, () => this.redriver.startBulk(job.id));
    return this.view(job);
  }

  async get(principal: Principal, id: string) {
    const job = await this.bulkRedrives.getReplay(id, scopeOf(principal));
    if (!job) throw ApiError.notFound('replay', id);
    return this.view(job);
  }

  /**
   * The window as the job takes it: from < to, at most REPLAY_MAX_WINDOW long, and cut at the oldest time RETENTION
   * keeps; what was cut is answered as not_replayed. A window wholly older than that is refused.
   */
  private window(from: string, to: string): Pick<ReplayFilter, 'from' | 'to' | 'not_replayed'> {
    const fromMs = Date.parse(from);
    const toMs = Date.parse(to);
    if (fromMs >= toMs) throw invalidWindow('invalid_replay_window', `from (${from}) must be before to (${to})`);
    const maxMs = this.config.replayMaxWindowMs;
    if (toMs - fromMs > maxMs)
      throw invalidWindow(
        'replay_window_too_long',
        `the window from ${from} to ${to} is longer than ${maxMs / 3_600_000} h (REPLAY_MAX_WINDOW); ` +
          'replay it in several windows',
        { max_window_seconds: maxMs / 1000 },
      );
    const retentionMs = this.config.retention.retentionMs;
    const oldest = retentionMs === 0 ? undefined : new Date(Date.now() - retentionMs);
    if (oldest === undefined || fromMs >= oldest.getTime())
      return { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), not_replayed: null };
    if (toMs <= oldest.getTime())
      throw invalidWindow(
        'replay_beyond_retention',
        `the whole window (to ${to}) is before ${oldest.toISOString()}, the oldest time RETENTION keeps events: ` +
          'they are gone and cannot be replayed',
        { oldest_replayable: oldest.toISOString() },
      );
    return {
      from: oldest.toISOString(),
      to: new Date(toMs).toISOString(),
      not_replayed: { from: new Date(fromMs).toISOString(), to: oldest.toISOString(), reason: 'retention' },
    };
  }

  private async view(job: BulkRedriveView<ReplayFilter>) {
    const { filter } = job;
    return {
      id: job.id,
      tenant_id: job.tenant_id as string,
      subscription_id: filter.subscription_id,
      from: filter.from,
      to: filter.to,
      event_types: filter.event_types ?? null,
      only_failed: filter.only_failed,
      not_replayed: filter.not_replayed,
      status: job.status,
      matched: job.matched,
      ...(await this.replays.outcomes(job.id)),
      skipped: job.skipped,
      requested_by: job.requested_by,
      created_at: job.created_at,
      finished_at: job.finished_at,
    };
  }
}
