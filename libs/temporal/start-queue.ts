import { DeliveryToStart } from '../db/events.repository';
import { DeliveryStarter } from './delivery-starter';

/**
 * Starts the workflows of freshly committed deliveries after the publish has answered, in publish order with a
 * bounded number of starts in flight. Losing this queue (crash) loses nothing: the outbox sweeper finds the rows.
 */
export class StartQueue {
  private readonly waiting: DeliveryToStart[][] = [];
  private active = 0;
  private idle: Array<() => void> = [];

  constructor(
    private readonly starter: DeliveryStarter,
    private readonly concurrency = 16,
  ) {}

  push(rows: DeliveryToStart[]): void {
    if (rows.length === 0) return;
    this.waiting.push(rows);
    this.pump();
  }

  /** Resolves once every queued start has been tried (used at shutdown). */
  drain(): Promise<void> {
    if (this.active === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (this.active < this.concurrency && this.waiting.length > 0) {
      const rows = this.waiting.shift() as DeliveryToStart[];
      this.active += 1;
      // startAll never rejects for a single failed start; anything else is left for the sweeper too.
      void this.starter
        .startAll(rows)
        .catch(() => undefined)
        .finally(() => {
          this.active -= 1;
          this.pump();
        });
    }
    if (this.active === 0 && this.waiting.length === 0) {
      for (const resolve of this.idle.splice(0)) resolve();
    }
  }
}
