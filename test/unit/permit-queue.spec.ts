import { PermitQueue, PermitTurn } from '../../activities/permit-queue';
import { throttleBackoffMs, turnWaitMs } from '../../libs/contracts/throttle-policy';

let deliveries = 0;
function nextDeliveryId(): string {
  deliveries += 1;
  return `whdel_${deliveries}`;
}

/** Whether the promise has settled after every pending microtask ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  for (let tick = 0; tick < 10; tick++) await Promise.resolve();
  return done;
}

/** Enters and answers as Postgres would for an attempt that was granted a permit under `limit`. */
async function holding(queue: PermitQueue, subscriptionId: string, limit: number): Promise<PermitTurn> {
  const turn = await queue.enter(subscriptionId, nextDeliveryId());
  turn.answered(limit, true, null);
  return turn;
}

describe('PermitQueue', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('lets attempts through until it knows the limit', async () => {
    const queue = new PermitQueue(2_000);
    const turns = [
      await queue.enter('whsub_a', nextDeliveryId()),
      await queue.enter('whsub_a', nextDeliveryId()),
      await queue.enter('whsub_a', nextDeliveryId()),
    ];
    expect(turns).toHaveLength(3);
  });

  it("queues attempts beyond the limit this worker's own attempts hold, and lets them in one per leave, in order", async () => {
    const queue = new PermitQueue(2_000);
    const first = await holding(queue, 'whsub_a', 2);
    const second = await holding(queue, 'whsub_a', 2);
    const order: string[] = [];
    const third = queue.enter('whsub_a', nextDeliveryId()).then((turn) => (order.push('third'), turn));
    const fourth = queue.enter('whsub_a', nextDeliveryId()).then((turn) => (order.push('fourth'), turn));
    expect(await settled(third)).toBe(false);

    first.leave();
    expect(await settled(third)).toBe(true);
    expect(await settled(fourth)).toBe(false);
    second.leave();
    expect(await settled(fourth)).toBe(true);
    expect(order).toEqual(['third', 'fourth']);
  });

  it('gives a woken attempt the freed place before a newcomer', async () => {
    const queue = new PermitQueue(2_000);
    const first = await holding(queue, 'whsub_a', 1);
    const waiting = queue.enter('whsub_a', nextDeliveryId());
    first.leave();
    const newcomer = queue.enter('whsub_a', nextDeliveryId());
    expect(await settled(waiting)).toBe(true);
    expect(await settled(newcomer)).toBe(false);
  });

  it('sends a waiting attempt on to Postgres after maxWaitMs', async () => {
    const queue = new PermitQueue(2_000);
    await holding(queue, 'whsub_a', 1);
    const waiting = queue.enter('whsub_a', nextDeliveryId());
    jest.advanceTimersByTime(1_999);
    expect(await settled(waiting)).toBe(false);
    jest.advanceTimersByTime(1);
    expect(await settled(waiting)).toBe(true);
  });

  it('keeps subscriptions apart', async () => {
    const queue = new PermitQueue(2_000);
    await holding(queue, 'whsub_a', 1);
    expect(await settled(queue.enter('whsub_b', nextDeliveryId()))).toBe(true);
    expect(await settled(queue.enter('whsub_a', nextDeliveryId()))).toBe(false);
  });

  it('does not queue when no cap applies', async () => {
    const queue = new PermitQueue(2_000);
    const turn = await queue.enter('whsub_a', nextDeliveryId());
    turn.answered(0, false, null);
    expect(await settled(queue.enter('whsub_a', nextDeliveryId()))).toBe(true);
  });

  it("does not queue when the subscription's permits are held longer than the queue would wait", async () => {
    const queue = new PermitQueue(1_000);
    const slow = await holding(queue, 'whsub_slow', 1);
    jest.advanceTimersByTime(5_000);
    slow.leave();
    // Permits are held 5 s: with one in flight, a newcomer would wait about that long; it asks Postgres at once.
    await holding(queue, 'whsub_slow', 1);
    expect(await settled(queue.enter('whsub_slow', nextDeliveryId()))).toBe(true);
  });

  it('counts a turn left twice once', async () => {
    const queue = new PermitQueue(2_000);
    const first = await holding(queue, 'whsub_a', 1);
    const second = queue.enter('whsub_a', nextDeliveryId());
    const third = queue.enter('whsub_a', nextDeliveryId());
    first.leave();
    first.leave();
    expect(await settled(second)).toBe(true);
    expect(await settled(third)).toBe(false);
  });

  it('remembers an idle subscription until many others are known', async () => {
    const queue = new PermitQueue(2_000);
    (await holding(queue, 'whsub_a', 1)).leave();
    await holding(queue, 'whsub_a', 1);
    expect(await settled(queue.enter('whsub_a', nextDeliveryId()))).toBe(false);
  });

  describe('the wait of a refused attempt', () => {
    /** Makes the subscription's permits known to be held `holdMs` under `limit`. */
    async function heldFor(queue: PermitQueue, subscriptionId: string, limit: number, holdMs: number): Promise<void> {
      const turn = await holding(queue, subscriptionId, limit);
      jest.advanceTimersByTime(holdMs);
      turn.leave();
    }

    /** Enters and answers as Postgres would for an attempt refused a permit, to wait `waitMs` on its timer. */
    async function refused(queue: PermitQueue, subscriptionId: string, deliveryId: string, waitMs: number) {
      const turn = await queue.enter(subscriptionId, deliveryId);
      turn.answered(2, false, waitMs);
      turn.leave();
    }

    it("is the doubling backoff while none of the subscription's deliveries wait on timers here", async () => {
      const queue = new PermitQueue(1_000);
      await heldFor(queue, 'whsub_a', 2, 5_000);
      const turn = await queue.enter('whsub_a', nextDeliveryId());
      expect(turn.backoffMs(3, 0.5)).toBe(Math.max(throttleBackoffMs(3, 0.5), turnWaitMs(0, 2, 5_000, 0.5)));
      expect(turn.backoffMs(0, 0.5)).toBe(turnWaitMs(0, 2, 5_000, 0.5));
    });

    it('grows with the deliveries already waiting for their turn, and shrinks as they are granted permits', async () => {
      const queue = new PermitQueue(1_000);
      await heldFor(queue, 'whsub_slow', 2, 5_000);
      const waiting = Array.from({ length: 10 }, nextDeliveryId);
      for (const deliveryId of waiting) await refused(queue, 'whsub_slow', deliveryId, 20_000);
      const newcomer = await queue.enter('whsub_slow', nextDeliveryId());
      expect(newcomer.backoffMs(0, 0.5)).toBe(turnWaitMs(10, 2, 5_000, 0.5));
      expect(newcomer.backoffMs(0, 0.5)).toBeGreaterThan(throttleBackoffMs(16, 0.999));
      newcomer.leave();

      for (const deliveryId of waiting.slice(0, 4)) {
        const turn = await queue.enter('whsub_slow', deliveryId);
        turn.answered(2, true, null);
        jest.advanceTimersByTime(5_000);
        turn.leave();
      }
      const later = await queue.enter('whsub_slow', nextDeliveryId());
      expect(later.backoffMs(0, 0.5)).toBe(turnWaitMs(6, 2, 5_000, 0.5));
      // Another subscription's wait is its own.
      expect((await queue.enter('whsub_other', nextDeliveryId())).backoffMs(0, 0.5)).toBe(throttleBackoffMs(0, 0.5));
    });

    it('keeps the place of a delivery refused again', async () => {
      const queue = new PermitQueue(1_000);
      await heldFor(queue, 'whsub_slow', 2, 5_000);
      const [first, second, third] = [nextDeliveryId(), nextDeliveryId(), nextDeliveryId()];
      for (const deliveryId of [first, second, third]) await refused(queue, 'whsub_slow', deliveryId, 1_000);
      const back = await queue.enter('whsub_slow', second);
      expect(back.backoffMs(1, 0.5)).toBe(Math.max(throttleBackoffMs(1, 0.5), turnWaitMs(1, 2, 5_000, 0.5)));
      back.answered(2, false, 1_000);
      back.leave();
      expect((await queue.enter('whsub_slow', third)).backoffMs(1, 0.5)).toBe(turnWaitMs(2, 2, 5_000, 0.5));
    });

    it('forgets a refused delivery that has not come back long after its timer was due', async () => {
      const queue = new PermitQueue(1_000);
      await heldFor(queue, 'whsub_a', 2, 5_000);
      await refused(queue, 'whsub_a', nextDeliveryId(), 1_000);
      jest.advanceTimersByTime(1_000 + 29_000);
      expect((await queue.enter('whsub_a', nextDeliveryId())).backoffMs(0, 0.5)).toBe(turnWaitMs(1, 2, 5_000, 0.5));
      jest.advanceTimersByTime(2_000);
      expect((await queue.enter('whsub_a', nextDeliveryId())).backoffMs(0, 0.5)).toBe(turnWaitMs(0, 2, 5_000, 0.5));
    });
  });
});
