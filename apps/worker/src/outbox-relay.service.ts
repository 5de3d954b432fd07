import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client as PgClient } from 'pg';
import { AppConfig, requireSetting } from '../../../libs/config/config';
import { APP_CONFIG } from '../../../libs/config/config.module';
import { OutboxRepository, START_CLAIM_LEASE_MS } from '../../../libs/db/outbox.repository';
import { DELIVERIES_COMMITTED_CHANNEL } from '../../../libs/db/relay-wakeup';
import { WorkerMetrics } from '../../../libs/observability/metrics';
import { OutboxRunStarter } from '../../../libs/temporal/outbox-run-starter';

/**
 * The relay drains a backlog in rounds of claim, start and mark, and its window (the rows a round claims) adapts to
 * what the worker takes eagerly: every eager start holds one of the worker's workflow-task slots until its task is
 * completed on the server, so when the server falls behind, slots run out and starts fall back to the normal path,
 * which costs the server one more write each. An eager miss halves the window (and pauses the relay briefly), a
 * round of eager starts widens it: the backlog then waits in the outbox, not in Temporal.
 *
 * Windows of at most 8 rows, one round at a time: against several lanes of wider windows at once, they deliver as
 * fast, start every run eagerly, and keep the worker's and the server's memory lower. More starts at once only piled
 * runs into the worker's slots faster than it could work them off.
 */
const WINDOW = { initial: 8, min: 1, max: 8 };
const PAUSE_AFTER_EAGER_MISS_MS = 100;
/** The safety net: a pass this often even with no notification (a lost LISTEN connection, an expired lease). */
const SWEEP_EVERY_MS = 2_000;
const RELISTEN_AFTER_MS = 1_000;

/**
 * Turns committed deliveries into workflow runs: woken by Postgres NOTIFY after publish commits (RelayWakeup), and
 * by a timer as the safety net, it claims unstarted rows (several workers share the outbox through claims with a
 * lease), starts them eagerly on this worker and marks them started. An answered publish is never lost: whatever a
 * pass did not start, the next one (here or in another worker) does.
 *
 * A row is claimed only when its subscription has room for its first attempt; the rest wait in the outbox. A
 * permit given back by one of this worker's attempts wakes the relay while it holds rows back; permits given back
 * on other workers reach it at the next publish or by the timer.
 */
@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('outbox-relay');
  private listener?: PgClient;
  private listening?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private pass?: Promise<void>;
  private wokenDuringPass = false;
  /** The last claim left rows for want of room: a permit given back may let them in. */
  private heldBack = false;
  /** Permits given back by this worker's attempts so far. */
  private permitsReleased = 0;
  private window = WINDOW.initial;
  private stopped = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly outbox: OutboxRepository,
    private readonly starter: OutboxRunStarter,
    private readonly metrics: WorkerMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.listening = this.keepListening();
    this.timer = setInterval(() => this.wake(), SWEEP_EVERY_MS);
    this.wake();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.listener?.end().catch(() => undefined);
    await Promise.all([this.listening, this.pass]);
  }

  /** Starts a pass, or has the running one go round once more so rows committed meanwhile are not left to the timer. */
  wake(): void {
    if (this.stopped) return;
    if (this.pass) {
      this.wokenDuringPass = true;
      return;
    }
    this.pass = this.relay()
      .catch((error: Error) => this.logger.warn(`outbox pass failed, the next one retries: ${error.message}`))
      .finally(() => (this.pass = undefined));
  }

  /** An attempt gave its subscription's permit back: rows this relay left for want of room may now be admitted. */
  roomMade(): void {
    this.permitsReleased += 1;
    if (this.heldBack) this.wake();
  }

  private async relay(): Promise<void> {
    do {
      this.wokenDuringPass = false;
      await this.drain();
    } while (this.wokenDuringPass && !this.stopped);
  }

  /** Rounds of claim, start and mark, until a claim finds less than the window. */
  private async drain(): Promise<void> {
    for (;;) {
      const claimedUpTo = this.window;
      const releasedBefore = this.permitsReleased;
      const { rows, heldBack } = await this.outbox.claim(
        claimedUpTo,
        START_CLAIM_LEASE_MS,
        this.config.subscriptionLimits,
      );
      this.heldBack = heldBack;
      // A permit given back while the claim ran may not have been counted by it: one more pass makes sure.
      if (heldBack && this.permitsReleased !== releasedBefore) this.wokenDuringPass = true;
      if (rows.length === 0) return;
      const { started, failed, eager } = await this.starter.start(rows);
      this.metrics.outboxStarts.inc({ outcome: 'eager' }, eager);
      this.metrics.outboxStarts.inc({ outcome: 'normal' }, started.length - eager);
      this.metrics.outboxStarts.inc({ outcome: 'failed' }, failed.length);
      await this.outbox.markStarted(started);
      await this.outbox.release(failed);
      // Temporal refusing starts: leave the rest to the timer instead of spinning on it.
      if (failed.length > 0 || this.stopped) return;
      if (eager < started.length) {
        this.window = Math.max(WINDOW.min, Math.floor(claimedUpTo / 2));
        await sleep(PAUSE_AFTER_EAGER_MISS_MS);
      } else if (rows.length === claimedUpTo) this.window = Math.min(WINDOW.max, claimedUpTo + 1);
      if (rows.length < claimedUpTo) return;
    }
  }

  /** LISTENs on its own connection; a lost one (Postgres restart) is replaced, and meanwhile the timer's passes start what is committed. */
  private async keepListening(): Promise<void> {
    while (!this.stopped) {
      const listener = new PgClient({
        connectionString: requireSetting(this.config.databaseUrl, 'DATABASE_URL'),
        application_name: 'intelliauth-webhooks-relay',
        // A Postgres that accepts no connection must not hang the loop: it retries, and the timer's passes go on.
        connectionTimeoutMillis: this.config.database.poolTimeoutMs,
      });
      const lost = new Promise<void>((resolve) => {
        listener.on('error', () => resolve());
        listener.once('end', () => resolve());
      });
      listener.on('notification', () => this.wake());
      try {
        await listener.connect();
        await listener.query(`LISTEN ${DELIVERIES_COMMITTED_CHANNEL}`);
        this.listener = listener;
        if (this.stopped) break;
        // Rows committed while nobody was listening.
        this.wake();
        await lost;
      } catch (error) {
        this.logger.warn(`LISTEN ${DELIVERIES_COMMITTED_CHANNEL} failed, retrying: ${(error as Error).message}`);
      } finally {
        this.listener = undefined;
        await listener.end().catch(() => undefined);
      }
      if (!this.stopped) await sleep(RELISTEN_AFTER_MS);
    }
  }
}
