import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { OutboxRelayService } from '../../apps/worker/src/outbox-relay.service';
import type { AppConfig } from '../../libs/config/config';
import type { OutboxRepository, OutboxRow } from '../../libs/db/outbox.repository';
import type { WorkerMetrics } from '../../libs/observability/metrics';
import type { OutboxRunStarter, RunsStarted } from '../../libs/temporal/outbox-run-starter';

let nextRow = 0;
const rows = (count: number): OutboxRow[] =>
  Array.from({ length: count }, () => ({ id: `whdlv_${nextRow++}` }) as OutboxRow);

/** The relay's pass logic over an outbox and a starter that answer as the test says (no Postgres, no Temporal). */
function relayWith(
  claim: (limit: number) => Promise<OutboxRow[]>,
  start: (batch: OutboxRow[]) => Promise<RunsStarted>,
) {
  const outbox = {
    claim: jest.fn(claim),
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

  it('opens more lanes while claims fill their windows, four at most, until the outbox is drained', async () => {
    let backlog = 100;
    let lanesEnded = 0;
    let inFlight = 0;
    let mostInFlight = 0;
    const { relay, outbox } = relayWith(
      async (limit) => {
        const taken = Math.min(limit, backlog);
        backlog -= taken;
        if (taken < limit) lanesEnded += 1; // a lane ends on a claim short of its window
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
    await until(() => lanesEnded === 4);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = outbox.markStarted.mock.calls.flatMap(([ids]) => ids);
    expect(new Set(started).size).toBe(100);
    expect(started).toHaveLength(100);
    expect(mostInFlight).toBe(4);
    expect(lanesEnded).toBe(4);
  });

  it('ends a pass whose lane failed with a warning, not an unhandled rejection, while another lane is still starting', async () => {
    let releaseFirstLane!: () => void;
    const firstLaneStarting = new Promise<void>((resolve) => (releaseFirstLane = resolve));
    let claims = 0;
    const { relay, outbox } = relayWith(
      async (limit) => {
        claims += 1;
        if (claims === 1) return rows(limit); // a full window: a backlog, so a second lane opens
        throw new Error('terminating connection due to administrator command');
      },
      async (batch) => {
        await firstLaneStarting;
        return allEager(batch);
      },
    );
    relay.wake();
    await until(() => claims >= 2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(unhandled).toEqual([]);
    expect(warn).not.toHaveBeenCalled();

    releaseFirstLane();
    await until(() => warn.mock.calls.length === 1);
    expect(warn.mock.calls[0][0]).toMatch(/outbox pass failed, the next one retries: terminating connection/);
    expect(outbox.markStarted).toHaveBeenCalledTimes(1);
    expect(unhandled).toEqual([]);
  });
});
