import { eventually } from '../helpers/eventually';

/** The suite's poller: a probe that found nothing must never pass for one that found something. */
describe('eventually', () => {
  it.each([null, undefined, 0, false, ''])(
    'keeps waiting while the probe answers %p, and times out naming what it waited for',
    async (nothing) => {
      let probes = 0;
      const waiting = eventually(
        () => {
          probes += 1;
          return nothing;
        },
        { timeout: 100, interval: 10, description: 'something' },
      );
      await expect(waiting).rejects.toThrow(/^timed out after 100 ms waiting for something/);
      expect(probes).toBeGreaterThan(1);
    },
  );

  it('answers the first truthy value', async () => {
    let probes = 0;
    expect(
      await eventually(async () => (++probes === 3 ? { found: probes } : undefined), {
        timeout: 1_000,
        interval: 1,
        description: 'the third probe',
      }),
    ).toEqual({ found: 3 });
  });

  it('with until, lets the predicate alone decide, so a 0 can be what is awaited', async () => {
    let count = 2;
    expect(
      await eventually(() => --count, {
        timeout: 1_000,
        interval: 1,
        description: 'the count to reach 0',
        until: (n) => n === 0,
      }),
    ).toBe(0);
    await expect(
      eventually(() => 1, { timeout: 50, interval: 10, description: 'a 2', until: (n) => n === 2 }),
    ).rejects.toThrow(/waiting for a 2/);
  });

  it('ends the wait with the error of a probe that throws', async () => {
    await expect(
      eventually(() => Promise.reject(new Error('the process exited')), { timeout: 1_000, description: 'never' }),
    ).rejects.toThrow('the process exited');
  });
});
