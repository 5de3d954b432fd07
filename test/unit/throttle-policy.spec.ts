import { throttleBackoffMs, turnWaitMs } from '../../libs/contracts/throttle-policy';

describe('throttle backoff', () => {
  it('doubles from 100 ms up to 5 s, each wait between half and all of its ceiling', () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 6, 7, 30].map((times) => throttleBackoffMs(times, 0.999999));
    expect(ceilings).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    const floors = [0, 1, 6, 30].map((times) => throttleBackoffMs(times, 0));
    expect(floors).toEqual([50, 100, 2500, 2500]);
  });

  it('spreads waiters with the random draw', () => {
    expect(new Set([0.1, 0.4, 0.7].map((random) => throttleBackoffMs(3, random))).size).toBe(3);
  });
});

describe('turn wait', () => {
  it('is between half and all of the time the deliveries ahead take to go through the permits', () => {
    // 9 ahead, this one the 10th, 2 permits held 1 s each: 5 s.
    expect(turnWaitMs(9, 2, 1_000, 0.999999)).toBe(5_000);
    expect(turnWaitMs(9, 2, 1_000, 0)).toBe(2_500);
  });

  it('is at most a minute', () => {
    expect(turnWaitMs(10_000, 1, 10_000, 0.5)).toBe(60_000);
  });

  it('is 0 while the limit or the hold time is unknown', () => {
    expect(turnWaitMs(50, 0, 1_000, 0.5)).toBe(0);
    expect(turnWaitMs(50, 10, 0, 0.5)).toBe(0);
  });
});
