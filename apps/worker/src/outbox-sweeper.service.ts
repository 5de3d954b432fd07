import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DeliveriesRepository } from '../../../libs/db/deliveries.repository';
import { DeliveryStarter } from '../../../libs/temporal/delivery-starter';

/** Rows younger than this are still in the api's own start queue. */
export const OUTBOX_GRACE_MS = 5_000;
const SWEEP_EVERY_MS = 2_000;
const BATCH = 500;

/**
 * Starts the workflow of every committed delivery that the api did not (it died after the commit, or Temporal
 * was unreachable), so an answered publish is never lost.
 */
@Injectable()
export class OutboxSweeperService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('outbox-sweeper');
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<unknown>;

  constructor(
    private readonly deliveries: DeliveriesRepository,
    private readonly starter: DeliveryStarter,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((error: Error) => this.logger.warn(`sweep failed, will retry: ${error.message}`))
        .finally(() => (this.sweeping = undefined));
    }, SWEEP_EVERY_MS);
  }

  /** Starts one batch; returns how many workflows it started. */
  async sweep(): Promise<number> {
    const rows = await this.deliveries.unstarted(OUTBOX_GRACE_MS, BATCH);
    if (rows.length === 0) return 0;
    const started = await this.starter.startAll(rows);
    this.logger.log(`started ${started} of ${rows.length} deliveries left pending by the publish path`);
    return started;
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }
}
