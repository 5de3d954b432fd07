import { PermitQueue, PermitTurn } from '../../activities/permit-queue';

/** Whether the promise has settled after every pending microtask ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  for (let tick = 0; tick < 10; tick++) await Promise.resolve();
  return done;
}

/** Enters and answers as Postgres would for an attempt that was granted a permit under `limit`. */
async function holding(queue: PermitQueue, subscriptionId: string, limit: number): Promise<PermitTurn> {
  const turn = await queue.enter(subscriptionId);
  turn.answered(limit, true);
  return turn;
}

describe('PermitQueue', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('lets attempts through until it knows the limit', async () => {
    const queue = new PermitQueue(2_000);
    const turns = [await queue.enter('whsub_a'), await queue.enter('whsub_a'), await queue.enter('whsub_a')];
    expect(turns).toHaveLength(3);
  });

  it("queues attempts beyond the limit this worker's own attempts hold, and lets them in one per leave, in order", async () => {
    const queue = new PermitQueue(2_000);
    const first = await holding(queue, 'whsub_a', 2);
    const second = await holding(queue, 'whsub_a', 2);
    const order: string[] = [];
    const third = queue.enter('whsub_a').then((turn) => (order.push('third'), turn));
    const fourth = queue.enter('whsub_a').then((turn) => (order.push('fourth'), turn));
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
    const waiting = queue.enter('whsub_a');
    first.leave();
    const newcomer = queue.enter('whsub_a');
    expect(await settled(waiting)).toBe(true);
    expect(await settled(newcomer)).toBe(false);
  });

  it('sends a waiting attempt on to Postgres after maxWaitMs', async () => {
    const queue = new PermitQueue(2_000);
    await holding(queue, 'whsub_a', 1);
    const waiting = queue.enter('whsub_a');
    jest.advanceTimersByTime(1_999);
    expect(await settled(waiting)).toBe(false);
    jest.advanceTimersByTime(1);
    expect(await settled(waiting)).toBe(true);
  });

  it('keeps subscriptions apart', async () => {
    const queue = new PermitQueue(2_000);
    await holding(queue, 'whsub_a', 1);
    expect(await settled(queue.enter('whsub_b'))).toBe(true);
    expect(await settled(queue.enter('whsub_a'))).toBe(false);
  });

  it('does not queue when no cap applies', async () => {
    const queue = new PermitQueue(2_000);
    const turn = await queue.enter('whsub_a');
    turn.answered(0, false);
    expect(await settled(queue.enter('whsub_a'))).toBe(true);
  });

  it("does not queue when the subscription's permits are held longer than the queue would wait", async () => {
    const queue = new PermitQueue(1_000);
    const slow = await holding(queue, 'whsub_slow', 1);
    jest.advanceTimersByTime(5_000);
    slow.leave();
    // Permits are held 5 s: with one in flight, a newcomer would wait about that long; it asks Postgres at once.
    await holding(queue, 'whsub_slow', 1);
    expect(await settled(queue.enter('whsub_slow'))).toBe(true);
  });

  it('counts a turn left twice once', async () => {
    const queue = new PermitQueue(2_000);
    const first = await holding(queue, 'whsub_a', 1);
    const second = queue.enter('whsub_a');
    const third = queue.enter('whsub_a');
    first.leave();
    first.leave();
    expect(await settled(second)).toBe(true);
    expect(await settled(third)).toBe(false);
  });

  it('remembers an idle subscription until many others are known', async () => {
    const queue = new PermitQueue(2_000);
    (await holding(queue, 'whsub_a', 1)).leave();
    await holding(queue, 'whsub_a', 1);
    expect(await settled(queue.enter('whsub_a'))).toBe(false);
  });
});
