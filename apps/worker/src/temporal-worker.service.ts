import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createBulkRedriveActivities } from '../../../activities/bulk-redrive.activities';
import { createDeliveryActivities } from '../../../activities/delivery.activities';
import { PermitQueue } from '../../../activities/permit-queue';
import { createRetentionActivities } from '../../../activities/retention.activities';
import { OAuth2Tokens } from '../../../libs/outbound/oauth2-tokens';
import { WebhookSender } from '../../../libs/outbound/webhook-sender';
import { ListenHandoff } from '../../../libs/outbound/listen-handoff';
import { AppConfig } from '../../../libs/config/config';
import { APP_CONFIG } from '../../../libs/config/config.module';
import { workerTracingOptions } from '../../../libs/observability/tracing';
import { AttemptsRepository } from '../../../libs/db/attempts.repository';
import { BulkRedrivesRepository } from '../../../libs/db/bulk-redrives.repository';
import { ReplaysRepository } from '../../../libs/db/replays.repository';
import { SubscriptionsRepository } from '../../../libs/db/subscriptions.repository';
import { DeliveriesRepository } from '../../../libs/db/deliveries.repository';
import { RetentionRepository } from '../../../libs/db/retention.repository';
import { serviceLogger } from '../../../libs/observability/logging';
import { WorkerMetrics } from '../../../libs/observability/metrics';
import { OperationalEvents } from '../../../libs/operational/operational-event-emitter';
import { DeadLetterRedriver } from '../../../libs/temporal/dead-letter-redriver';
import { SubscriptionDisabler } from '../../../libs/temporal/subscription-disabler';
import { OutboxRelayService } from './outbox-relay.service';
import { WORKER_CONNECTION } from './worker-connection';
import { WORKFLOW_SANDBOX_OPTIONS, workflowCodeOptions } from './workflow-bundle';

/** Above the 10 s attempt budget, so a SIGTERM lets attempts in flight finish and record their outcome. */
export const SHUTDOWN_GRACE = '20s';

/**
 * The longest an attempt waits in this worker's queue for a permit its own attempts hold. Long enough for a queue
 * behind fast receivers (under sustained load no attempt is refused), short enough that a slow receiver's queue
 * stays one or two deep: a longer wait lets its waiting tasks delay the fast receivers' first attempts. Well inside
 * the room a local attempt has beyond its HTTP budget (localAttemptTimeoutMs).
 */
const PERMIT_WAIT_MS = 500;

@Injectable()
export class TemporalWorkerService
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('worker');
  private worker?: Worker;
  private running?: Promise<void>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WORKER_CONNECTION) private readonly connection: NativeConnection,
    private readonly attempts: AttemptsRepository,
    private readonly deliveries: DeliveriesRepository,
    private readonly bulkRedrives: BulkRedrivesRepository,
    private readonly replays: ReplaysRepository,
    private readonly subscriptions: SubscriptionsRepository,
    private readonly redriver: DeadLetterRedriver,
    private readonly disabler: SubscriptionDisabler,
    private readonly operational: OperationalEvents,
    private readonly retention: RetentionRepository,
    private readonly metrics: WorkerMetrics,
    private readonly sender: WebhookSender,
    private readonly tokens: OAuth2Tokens,
    private readonly listen: ListenHandoff,
    private readonly relay: OutboxRelayService,
  ) {}

  /** Created eagerly so a bad bundle or an unreachable server fails the start, not the first delivery. */
  async onModuleInit(): Promise<void> {
    const tuning = this.config.worker;
    const workflowCode = await workflowCodeOptions(
      require.resolve('../../../workflows/index'),
      workerTracingOptions([require.resolve('../../../workflows/trace-context-interceptors')]),
    );
    this.worker = await Worker.create({
      connection: this.connection,
      namespace: this.config.temporalNamespace,
      taskQueue: this.config.temporalTaskQueue,
      ...workflowCode,
      ...WORKFLOW_SANDBOX_OPTIONS,
      activities: {
        ...createDeliveryActivities({
          attempts: this.attempts,
          sender: this.sender,
          tokens: this.tokens,
          listen: this.listen,
          disabler: this.disabler,
          operational: this.operational,
          failureDisableAfterMs: this.config.failureDisableAfterMs,
          metrics: this.metrics,
          log: serviceLogger(this.config, 'worker').child({ component: 'attempt' }),
          defaultLimits: this.config.subscriptionLimits,
          permits: new PermitQueue(PERMIT_WAIT_MS),
          permitReleased: () => this.relay.roomMade(),
        }),
        ...createBulkRedriveActivities({
          bulkRedrives: this.bulkRedrives,
          deliveries: this.deliveries,
          replays: this.replays,
          subscriptions: this.subscriptions,
          redriver: this.redriver,
        }),
        ...createRetentionActivities({ retention: this.retention }),
      },
      shutdownGraceTime: SHUTDOWN_GRACE,
      // A local attempt holds its workflow task slot (and a local activity slot) for as long as the receiver takes.
      maxConcurrentWorkflowTaskExecutions: tuning.workflowTaskSlots,
      maxConcurrentLocalActivityExecutions: tuning.localActivitySlots,
      maxConcurrentActivityTaskExecutions: tuning.activitySlots,
      // Delivery workflows sleep for hours; evicting one only costs a replay of a short history.
      maxCachedWorkflows: tuning.cachedWorkflows,
    });
  }

  onApplicationBootstrap(): void {
    const worker = this.worker as Worker;
    this.running = worker.run();
    this.running.catch((error: Error) => {
      this.logger.error(`Temporal worker failed: ${error.message}`);
      process.exitCode = 1;
      process.kill(process.pid, 'SIGTERM');
    });
    this.logger.log(`polling task queue ${this.config.temporalTaskQueue} on ${this.config.temporalAddress}`);
  }

  /** Whether this worker polls its task queue (RUNNING), or is starting, draining or stopped. */
  state(): string {
    return this.worker?.getState() ?? 'INITIALIZED';
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.worker?.getState() === 'RUNNING') this.worker.shutdown();
    await this.running?.catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.connection.close();
  }
}
