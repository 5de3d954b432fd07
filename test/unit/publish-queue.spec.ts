import { PublishQueue } from '../../libs/db/publish-queue';

/** A publish statement held open until the test answers it, so the test decides what runs at the same time. */
interface Statement {
  publishes: string[];
  answer(): void;
  fail(error: Error): void;
}

function queueOf(maxInFlight: number, maxBatch: number) {
  const statements: Statement[] = [];
  const queue = new PublishQueue<string, string>(
    (publishes) =>
      new Promise<string[]>((resolve, reject) => {
        statements.push({
          publishes,
          answer: () => resolve(publishes.map((publish) => `stored ${publish}`)),
          fail: reject,
        });
      }),
    (publish) => publish.split(':')[0],
    maxInFlight,
    maxBatch,
  );
  return { queue, statements };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('PublishQueue', () => {
  it('sends a publish that finds a free slot at once, alone', async () => {
    const { queue, statements } = queueOf(2, 10);
    const first = queue.submit('a');
    const second = queue.submit('b');
    expect(statements.map((statement) => statement.publishes)).toEqual([['a'], ['b']]);
    statements.forEach((statement) => statement.answer());
    await expect(Promise.all([first, second])).resolves.toEqual(['stored a', 'stored b']);
  });

  it('sends the publishes that arrived while every slot was taken together, in arrival order, when one answers', async () => {
    const { queue, statements } = queueOf(1, 10);
    const outcomes = ['a', 'b', 'c', 'd'].map((publish) => queue.submit(publish));
    expect(statements.map((statement) => statement.publishes)).toEqual([['a']]);
    statements[0].answer();
    await settled();
    expect(statements.map((statement) => statement.publishes)).toEqual([['a'], ['b', 'c', 'd']]);
    statements[1].answer();
    await expect(Promise.all(outcomes)).resolves.toEqual(['stored a', 'stored b', 'stored c', 'stored d']);
  });

  it('puts at most maxBatch publishes in one statement, and never two of one key', async () => {
    const { queue, statements } = queueOf(1, 3);
    const outcomes = ['a', 'b', 'c:1', 'c:2', 'd', 'e'].map((publish) => queue.submit(publish));
    statements[0].answer();
    await settled();
    expect(statements[1].publishes).toEqual(['b', 'c:1', 'd']);
    statements[1].answer();
    await settled();
    expect(statements[2].publishes).toEqual(['c:2', 'e']);
    statements[2].answer();
    await expect(Promise.all(outcomes)).resolves.toHaveLength(6);
  });

  it('runs each publish of a failed shared statement alone, so only the one that fails again is refused', async () => {
    const { queue, statements } = queueOf(1, 10);
    const outcomes = ['a', 'b', 'bad', 'c'].map((publish) => queue.submit(publish).catch((error: Error) => error));
    statements[0].answer();
    await settled();
    statements[1].fail(new Error('one of the batch was refused'));
    await settled();
    const alone = statements.slice(2);
    expect(alone.map((statement) => statement.publishes)).toEqual([['b'], ['bad'], ['c']]);
    alone.forEach((statement) =>
      statement.publishes[0] === 'bad' ? statement.fail(new Error('bad is refused')) : statement.answer(),
    );
    const [a, b, bad, c] = await Promise.all(outcomes);
    expect([a, b, c]).toEqual(['stored a', 'stored b', 'stored c']);
    expect(bad).toEqual(new Error('bad is refused'));
  });

  it('refuses the publish of a statement that fails alone with its error, and goes on with the next', async () => {
    const { queue, statements } = queueOf(1, 10);
    const refused = queue.submit('a');
    const next = queue.submit('b');
    statements[0].fail(new Error('refused'));
    await expect(refused).rejects.toThrow('refused');
    await settled();
    statements[1].answer();
    await expect(next).resolves.toBe('stored b');
  });
});
