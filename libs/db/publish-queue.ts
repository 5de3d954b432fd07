/**
 * Publishes of one process that go to Postgres in shared statements when they arrive faster than it answers them.
 * At most `maxInFlight` statements run at a time; a publish that arrives while they all run waits for the next one
 * to answer, then goes in one statement with every other publish waiting by then (up to `maxBatch`). A publish that
 * finds a free slot goes at once, alone: batching only ever happens under load, and adds no wait when there is none.
 * Under load the statement's round trip, parse, snapshot and commit are paid once per batch instead of per publish.
 *
 * Two publishes of one key (event id) never share a statement, so each sees the other as an earlier publish would.
 * When a shared statement fails, each of its publishes is run alone: one publish's failure is never another's.
 */
export class PublishQueue<Publish, Outcome> {
  private waiting: Waiting<Publish, Outcome>[] = [];
  private running = 0;

  constructor(
    private readonly run: (publishes: Publish[]) => Promise<Outcome[]>,
    private readonly keyOf: (publish: Publish) => string,
    private readonly maxInFlight: number,
    private readonly maxBatch: number,
  ) {}

  submit(publish: Publish): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      this.waiting.push({ publish, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.running < this.maxInFlight && this.waiting.length > 0) {
      const batch = this.nextBatch();
      this.running += 1;
      void this.runBatch(batch).finally(() => {
        this.running -= 1;
        this.dispatch();
      });
    }
  }

  /** The oldest waiting publishes, one per key, up to maxBatch; the rest keep their places for the next. */
  private nextBatch(): Waiting<Publish, Outcome>[] {
    const batch: Waiting<Publish, Outcome>[] = [];
    const keys = new Set<string>();
    const rest: Waiting<Publish, Outcome>[] = [];
    for (const entry of this.waiting) {
      const key = this.keyOf(entry.publish);
      if (batch.length < this.maxBatch && !keys.has(key)) {
        keys.add(key);
        batch.push(entry);
      } else rest.push(entry);
    }
    this.waiting = rest;
    return batch;
  }

  private async runBatch(batch: Waiting<Publish, Outcome>[]): Promise<void> {
    try {
      const outcomes = await this.run(batch.map((entry) => entry.publish));
      batch.forEach((entry, index) => entry.resolve(outcomes[index]));
    } catch (error) {
      if (batch.length === 1) return batch[0].reject(error);
      await Promise.all(
        batch.map((entry) => this.run([entry.publish]).then(([outcome]) => entry.resolve(outcome), entry.reject)),
      );
    }
  }
}

interface Waiting<Publish, Outcome> {
  publish: Publish;
  resolve: (outcome: Outcome) => void;
  reject: (error: unknown) => void;
}
