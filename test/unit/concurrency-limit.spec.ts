import { ConcurrencyLimit } from '../../apps/api/src/common/concurrency-limit';

/** A task that runs until `finish` is called. */
function heldTask(log: string[], name: string) {
  let finish!: (fail?: boolean) => void;
  const task = () =>
    new Promise<string>((resolve, reject) => {
      log.push(`start ${name}`);
      finish = (fail = false) => (fail ? reject(new Error(name)) : resolve(name));
    });
  return { task, finish: (fail?: boolean) => finish(fail) };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('ConcurrencyLimit', () => {
  it('runs at most the limit at once, the rest in arrival order, and a failed task frees its slot', async () => {
    const limit = new ConcurrencyLimit(2);
    const log: string[] = [];
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => heldTask(log, name));
    const results = [a, b, c, d].map((t) => limit.run(t.task).catch((error: Error) => `failed ${error.message}`));
    await turn();
    expect(log).toEqual(['start a', 'start b']);
    b.finish(true);
    await turn();
    expect(log).toEqual(['start a', 'start b', 'start c']);
    a.finish();
    await turn();
    expect(log).toEqual(['start a', 'start b', 'start c', 'start d']);
    c.finish();
    d.finish();
    expect(await Promise.all(results)).toEqual(['a', 'failed b', 'c', 'd']);
  });

  it('starts a task at once again when every earlier one has ended', async () => {
    const limit = new ConcurrencyLimit(1);
    expect(await limit.run(async () => 1)).toBe(1);
    expect(await limit.run(async () => 2)).toBe(2);
    const log: string[] = [];
    const held = heldTask(log, 'x');
    const running = limit.run(held.task);
    await turn();
    expect(log).toEqual(['start x']);
    held.finish();
    expect(await running).toBe('x');
  });
});
