import { Pool } from 'pg';

/** The channel on which committed deliveries wake the outbox relays (LISTENed to by every worker). */
export const DELIVERIES_COMMITTED_CHANNEL = 'deliveries_committed';

/**
 * The shortest time between two notifications: a relay woken during a pass only goes round once more, so more than
 * one notification per pass is wasted, and each costs Postgres a commit under its one notification-queue lock.
 */
const MIN_INTERVAL_MS = 10;

/**
 * Tells the relays that deliveries were committed, after the commit and outside its transaction. A NOTIFY inside the
 * publish's own transaction would make every publish commit take Postgres's global notification lock in turn,
 * which slows a burst of publishes markedly. Here the first commit after a quiet spell notifies at once and the
 * commits of the next MIN_INTERVAL_MS share one notification.
 * A notification lost with its process (or to a Postgres error) only delays the start: the relays sweep the outbox
 * every few seconds anyway.
 */
export class RelayWakeup {
  private pending: Promise<void> | undefined;
  private again = false;

  constructor(private readonly pool: Pool) {}

  deliveriesCommitted(): void {
    if (this.pending !== undefined) {
      this.again = true;
      return;
    }
    this.pending = this.notify().finally(() => (this.pending = undefined));
  }

  private async notify(): Promise<void> {
    do {
      this.again = false;
      const sentAt = performance.now();
      await this.pool.query(`SELECT pg_notify($1::text, '')`, [DELIVERIES_COMMITTED_CHANNEL]).catch(() => undefined);
      const rest = MIN_INTERVAL_MS - (performance.now() - sentAt);
      if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
    } while (this.again);
  }
}
