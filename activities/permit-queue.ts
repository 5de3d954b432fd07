import { throttleBackoffMs, turnWaitMs } from '../libs/contracts/throttle-policy';

/** Past this many subscriptions known here, those with nothing in flight are forgotten (a few hundred bytes each). */
const REMEMBERED_SUBSCRIPTIONS = 10_000;

/** A refused delivery not back this long after its timer was due is no longer counted as waiting here. */
const OVERDUE_MS = 30_000;

/**
 * A worker's own queue in front of its subscriptions' in-flight permits. Postgres decides every permit (the limits
 * hold across workers), but asking it while this worker's own attempts already fill the subscription's limit only
 * buys a refusal, a durable timer and another workflow task. Attempts that would find the limit full wait here
 * instead, in arrival order, and ask Postgres when one of this worker's attempts to the subscription ends.
 *
 * An attempt waits here only while a permit is expected soon: the subscription's limit and the time its attempts
 * last (a moving average) say when the queue's turn would come. A longer queue (a slow receiver), or a wait that
 * outlasts `maxWaitMs`, goes on to Postgres, which refuses it, and the delivery waits on a durable timer as before,
 * freeing its slots for other subscriptions' attempts. The deliveries this worker saw refused wait for their turns in
 * the order of their first refusal: how many wait before one says how long it should wait on its timer.
 */
export class PermitQueue {
  private readonly subscriptions = new Map<string, SubscriptionQueue>();

  constructor(private readonly maxWaitMs: number) {}

  /**
   * Resolves when the attempt may ask Postgres for a permit. The turn it gives must be left once the attempt is done
   * (sent and recorded, refused, or failed).
   */
  async enter(subscriptionId: string, deliveryId: string): Promise<PermitTurn> {
    const queue = this.queueOf(subscriptionId);
    if (queue.limit > 0 && (queue.active >= queue.limit || queue.waiters.length > 0) && this.worthWaiting(queue)) {
      // Whoever ends the wait (a leaving attempt, or the timer) counts this attempt as active at once, so no
      // newcomer slips in between the wake-up and this attempt's question to Postgres.
      await new Promise<void>((resolve) => {
        const waiter: Waiter = {
          wake: () => {
            clearTimeout(waiter.timer);
            queue.active += 1;
            resolve();
          },
          timer: setTimeout(() => {
            queue.waiters.splice(queue.waiters.indexOf(waiter), 1);
            queue.active += 1;
            resolve();
          }, this.maxWaitMs),
        };
        queue.waiters.push(waiter);
      });
    } else {
      queue.active += 1;
    }
    let grantedAt: number | undefined;
    let left = false;
    return {
      backoffMs: (throttledTimes, random) =>
        Math.max(
          throttleBackoffMs(throttledTimes, random),
          turnWaitMs(this.turnsAhead(queue, deliveryId), queue.limit, queue.averageHoldMs, random),
        ),
      answered: (limit, heldPermit, throttledForMs) => {
        queue.limit = limit;
        if (heldPermit) grantedAt = performance.now();
        // A delivery refused again keeps its place (a Map keeps the order of first insertion).
        if (throttledForMs === null) queue.turns.delete(deliveryId);
        else queue.turns.set(deliveryId, performance.now() + throttledForMs);
      },
      leave: () => {
        if (left) return;
        left = true;
        queue.active -= 1;
        if (grantedAt !== undefined) {
          const heldMs = performance.now() - grantedAt;
          queue.averageHoldMs = queue.averageHoldMs === 0 ? heldMs : queue.averageHoldMs * 0.8 + heldMs * 0.2;
        }
        if (queue.active < queue.limit || queue.limit === 0) queue.waiters.shift()?.wake();
      },
    };
  }

  /** Whether a newcomer at the back of the queue can expect its turn within maxWaitMs. */
  private worthWaiting(queue: SubscriptionQueue): boolean {
    const turnsAhead = queue.waiters.length + 1;
    return (turnsAhead / queue.limit) * queue.averageHoldMs <= this.maxWaitMs;
  }

  /**
   * How many of the subscription's refused deliveries wait for their turn before this one (all of them for one not
   * refused yet). A delivery not back long after its timer was due (cancelled, or retried on another worker) is
   * forgotten.
   */
  private turnsAhead(queue: SubscriptionQueue, deliveryId?: string): number {
    const overdueBefore = performance.now() - OVERDUE_MS;
    let ahead = 0;
    for (const [waiting, dueAt] of queue.turns) {
      if (dueAt < overdueBefore) queue.turns.delete(waiting);
      else if (waiting === deliveryId) return ahead;
      else ahead += 1;
    }
    return ahead;
  }

  private queueOf(subscriptionId: string): SubscriptionQueue {
    let queue = this.subscriptions.get(subscriptionId);
    if (queue === undefined) {
      if (this.subscriptions.size >= REMEMBERED_SUBSCRIPTIONS) this.forgetIdle();
      queue = { limit: 0, active: 0, averageHoldMs: 0, waiters: [], turns: new Map() };
      this.subscriptions.set(subscriptionId, queue);
    }
    return queue;
  }

  /** Drops what is known of subscriptions with nothing in flight here: they start over as unknown. */
  private forgetIdle(): void {
    for (const [subscriptionId, queue] of this.subscriptions)
      if (queue.active === 0 && queue.waiters.length === 0 && this.turnsAhead(queue) === 0)
        this.subscriptions.delete(subscriptionId);
  }
}

export interface PermitTurn {
  /**
   * How long to wait if Postgres refuses a permit, after `throttledTimes` refusals in a row: the doubling backoff,
   * or longer when this worker already has the subscription's deliveries waiting for their turn.
   */
  backoffMs(throttledTimes: number, random: number): number;
  /**
   * What Postgres answered: the subscription's in-flight limit (0: no cap), whether it granted a permit, and, if it
   * refused one, how long the delivery now waits on its timer.
   */
  answered(limit: number, heldPermit: boolean, throttledForMs: number | null): void;
  /** Ends the turn (the permit, if any, was released); once only, later calls do nothing. */
  leave(): void;
}

interface SubscriptionQueue {
  /** The in-flight limit last read from Postgres; 0 until known, or no cap: nobody waits. */
  limit: number;
  /** This worker's attempts to the subscription between enter and leave. */
  active: number;
  /** How long this worker's attempts to the subscription held their permits, recently. */
  averageHoldMs: number;
  waiters: Waiter[];
  /**
   * The deliveries refused a permit here and not granted one since, in the order of their first refusal, with when
   * their timers bring them back (performance.now() ms).
   */
  turns: Map<string, number>;
}

interface Waiter {
  wake(): void;
  timer: NodeJS.Timeout;
}
