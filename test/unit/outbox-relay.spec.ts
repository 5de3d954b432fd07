import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { OutboxRelayService } from '../../apps/worker/src/outbox-relay.service';
import type { AppConfig } from '../../libs/config/config';
import type { OutboxClaim, OutboxRepository, OutboxRow } from '../../libs/db/outbox.repository';
import type { WorkerMetrics } from '../../libs/observability/metrics';
import type { OutboxRunStarter, RunsStarted } from '../../libs/temporal/outbox-run-starter';

let nextRow = 0;
const rows = (count: number): OutboxRow[] =>
  Array.from({ length: count }, () => ({ id: `whdlv_${nextRow++}` }) as OutboxRow);

/** The relay's pass logic over an outbox and a starter that answer as the test says (no Postgres, no Temporal). */
function relayWith(
  claim: (limit: number) => Promise<OutboxRow[] | OutboxClaim>,
  start: (batch: OutboxRow[]) => Promise<RunsStarted>,
) {
  const outbox = {
    // Rows alone: nothing held back.
    claim: jest.fn(async (limit: number): Promise<OutboxClaim> => {
      const answer = await claim(limit);
      return Array.isArray(answer) ? { rows: answer, heldBack: false } : answer;
    }),
    markStarted: jest.fn(async (_ids: string[]) => {}),
    release: jest.fn(async (_ids: string[]) => {}),
  };
  const metrics = { outboxStarts: { inc: jest.fn() } };
  const relay = new OutboxRelayService(
    {} as AppConfig,
    outbox as unknown as OutboxRepository,
    { start: jest.fn(start) } as unknown as OutboxRunStarter,
    metrics as unknown as WorkerMetrics,
  );
  return { relay, outbox };
}

const allEager = async (batch: OutboxRow[]): Promise<RunsStarted> => ({
  started: batch.map((row) => row.id),
  failed: [],
  eager: batch.length,
});

async function until(condition: () => boolean): Promise<void> {
  for (let tick = 0; tick < 200 && !condition(); tick++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}

describe('OutboxRelayService', () => {
  let warn: jest.SpyInstance;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeEach(() => {
    nextRow = 0;
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
    warn.mockRestore();
  });

  it('answers a wake with fewer rows than a window with one claim', async () => {
    const { relay, outbox } = relayWith(async () => rows(3), allEager);
    relay.wake();
    await until(() => outbox.markStarted.mock.calls.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(outbox.claim).toHaveBeenCalledTimes(1);
    expect(outbox.markStarted).toHaveBeenCalledWith(['whdlv_0', 'whdlv_1', 'whdlv_2']);
  });

  it('drains a backlog in rounds of at most 8 rows, one round at a time, starting each row once', async () => {
    let backlog = 100;
    let inFlight = 0;
    let mostInFlight = 0;
    const { relay, outbox } = relayWith(
      async (limit) => {
        const taken = Math.min(limit, backlog);
        backlog -= taken;
        return rows(taken);
      },
      async (batch) => {
        mostInFlight = Math.max(mostInFlight, ++inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight -= 1;
        return allEager(batch);
      },
    );
    relay.wake();
    await until(() => backlog === 0 && outbox.markStarted.mock.calls.flat(2).length === 100);
    const started = outbox.markStarted.mock.calls.flatMap(([ids]) => ids);
    expect(new Set(started).size).toBe(100);
    expect(Math.max(...outbox.claim.mock.calls.map(([limit]) => limit))).toBe(8);
    expect(mostInFlight).toBe(1);
  });

  it("halves its window when the worker took a round's starts only in part", async () => {
    let eagerRounds = 0;
    const { relay, outbox } = relayWith(
      async (limit) => rows(outbox.claim.mock.calls.length <= 2 ? limit : 0),
      async (batch) => ({ ...(await allEager(batch)), eager: eagerRounds++ === 0 ? batch.length - 1 : batch.length }),
    );
    relay.wake();
    await new Promise((resolve) => setTimeout(resolve, 150)); // the pause after a miss
    await until(() => outbox.claim.mock.calls.length === 3);
    expect(outbox.claim.mock.calls.map(([limit]) => limit)).toEqual([8, 4, 5]);
  });

  it('claims again when a permit is given back only while its last claim held rows back for want of room', async () => {
    const answers: OutboxClaim[] = [
      { rows: rows(1), heldBack: true },
      { rows: rows(1), heldBack: false },
    ];
    const { relay, outbox } = relayWith(async () => answers.shift() ?? [], allEager);
    relay.wake();
    await until(() => outbox.markStarted.mock.calls.length === 1);
    relay.roomMade();
    await until(() => outbox.markStarted.mock.calls.length === 2);
    relay.roomMade();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(outbox.claim).toHaveBeenCalledTimes(2);
    expect(outbox.markStarted.mock.calls).toEqual([[['whdlv_0']], [['whdlv_1']]]);
  });

  it('ends a pass whose claim failed with a warning, not an unhandled rejection, and starts the rows on the next wake', async () => {
    let claims = 0;
    const { relay, outbox } = relayWith(async () => {
      claims += 1;
      if (claims === 1) throw new Error('terminating connection due to administrator command');
      return rows(2);
    }, allEager);
    relay.wake();
    await until(() => warn.mock.calls.length === 1);
    expect(warn.mock.calls[0][0]).toMatch(/outbox pass failed, the next one retries: terminating connection/);
    relay.wake();
    await until(() => outbox.markStarted.mock.calls.length === 1);
    expect(outbox.markStarted).toHaveBeenCalledWith(['whdlv_0', 'whdlv_1']);
    expect(unhandled).toEqual([]);
  });
});
