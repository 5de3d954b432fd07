import { throttleBackoffMs } from '../../libs/contracts/throttle-policy';

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
