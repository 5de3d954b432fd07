import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../helpers/eventually';
import { subscribe } from '../helpers/fixtures';
import { LauncherProcess, launcherSettings, LauncherSettings, removeDataDir } from '../helpers/launcher-process';
import { Scrape } from '../helpers/metrics';
import { TestReceiver } from '../helpers/receiver';

/**
 * `npm start` supervises what it started: a part that exits by itself, or dies while starting, is restarted with
 * backoff for as long as it runs, while the others keep running. Publishers never notice a worker crash loop: the api
 * keeps answering, its /readyz says the worker is restarting, and every event is delivered.
 */
let settings: LauncherSettings | undefined;
let launcher: LauncherProcess | undefined;
const receiver = new TestReceiver();
let url = '';

beforeAll(async () => {
  settings = await launcherSettings();
  url = await receiver.start();
  launcher = await LauncherProcess.start(settings);
}, 300_000);

afterAll(async () => {
  await launcher?.close();
  await receiver.stop();
  removeDataDir(settings);
});

function publish(launcher: LauncherProcess, tenantId: string, n: number) {
  return launcher.client
    .request('POST', '/v1/events', {
      event_id: `evt_supervised_${tenantId}_${n}`,
      event_type: 'user.updated',
      tenant: { id: tenantId },
      data: { user: { id: `usr_${n}` } },
    })
    .then(
      (answer) => answer.status,
      (error: Error) => `${error.name}: ${error.message}`,
    );
}

async function untilDelivered(launcher: LauncherProcess, eventIds: string[]): Promise<void> {
  await eventually(
    async () => {
      const delivered = new Set(receiver.requests.map((request) => String(request.headers['x-intelliauth-event-id'])));
      return eventIds.every((id) => delivered.has(id));
    },
    { timeout: 180_000, description: 'every event to reach the receiver' },
  );
  // A worker killed between the receiver's 200 and the attempt's record leaves the row pending until the workflow
  // task times out and the attempt runs again on the restarted worker (at least once): wait for that record too.
  for (const id of eventIds) {
    await eventually(
      async () => {
        const event = await launcher.client.request('GET', `/v1/events/${id}`);
        const statuses = event.body.deliveries.map((d: { status: string }) => d.status);
        return statuses.length === 1 && statuses[0] === 'delivered';
      },
      { timeout: 60_000, description: `the delivery of ${id} to be recorded delivered` },
    );
  }
}

/** SIGKILLs a part the launcher reports, and waits until the launcher says it is back with another pid. */
async function killAndAwaitBack(launcher: LauncherProcess, part: string): Promise<number> {
  const pid = launcher.partPid(part);
  if (pid === undefined) throw new Error(`npm start reported no pid for ${part}`);
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  await eventually(() => launcher.partPid(part) !== pid, {
    timeout: 120_000,
    description: `${part} to be back after SIGKILL of pid ${pid}`,
  });
  return Date.now() - killedAt;
}

describe('npm start', () => {
  it("prints both metrics endpoints, and the worker serves its metrics with the Temporal SDK runtime's on one endpoint", async () => {
    expect(launcher!.output).toContain(`api ${settings!.apiUrl}/metrics   worker ${settings!.workerUrl}/metrics`);
    const worker = await Scrape.of(settings!.workerUrl);
    expect(worker.family('webhook_attempts')).toMatchObject({ type: 'counter' });
    // The SDK's own: slots, pollers, task latencies (prefixed temporal_).
    expect(worker.families.map((family) => family.name)).toEqual(
      expect.arrayContaining(['temporal_worker_task_slots_available', 'temporal_num_pollers']),
    );
    expect((await fetch(`${settings!.workerUrl}/readyz`)).status).toBe(200);
    expect(await apiReadiness(launcher!)).toEqual({
      status: 200,
      body: { status: 'ready', checks: { postgres: 'ok', temporal: 'ok', worker: 'ok' } },
    });
  });
});

/** The api's /readyz, kept as answered (or how it failed). */
async function apiReadiness(launcher: LauncherProcess): Promise<{ status: number; body: any } | string> {
  try {
    const answer = await fetch(`${launcher.settings.apiUrl}/readyz`, { signal: AbortSignal.timeout(10_000) });
    return { status: answer.status, body: await answer.json() };
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

/** Both sides agree the worker serves: its own /readyz, and the api's, which the launcher tells. */
async function untilWorkerServes(launcher: LauncherProcess, timeout: number): Promise<void> {
  await eventually(
    async () => {
      const worker = await fetch(`${launcher.settings.workerUrl}/readyz`).catch(() => undefined);
      const api = await apiReadiness(launcher);
      return worker?.status === 200 && typeof api !== 'string' && api.body.checks.worker === 'ok';
    },
    { timeout, description: "the worker to serve again, by its /readyz and the api's" },
  ).catch((error: Error) => {
    const said = launcher.output.split('\n').filter((line) => line.startsWith('[start]'));
    throw new Error(`${error.message}; the launcher said:\n${said.slice(-20).join('\n')}`);
  });
}

describe('npm start supervises its parts', () => {
  it('keeps answering publishes while the worker is SIGKILLed every 2 s for 30 s, starting or serving: /readyz shows the worker restarting, it comes back once the kills stop (how soon is printed), and every event is delivered', async () => {
    const tenantId = `tnt_supervised_${Date.now()}`;
    await subscribe(launcher!.client, url, { tenantId, eventTypes: ['user.*'] });
    const statuses: Array<number | string> = [];
    const readiness: Array<Awaited<ReturnType<typeof apiReadiness>>> = [];
    let streaming = true;
    // The stream: one publish every 200 ms until the worker is back, each answer kept; /readyz every second.
    const stream = (async () => {
      for (let n = 0; streaming && n < 5_000; n++) {
        statuses.push(await publish(launcher!, tenantId, n));
        await sleep(200);
      }
    })();
    const probe = (async () => {
      while (streaming) {
        readiness.push(await apiReadiness(launcher!));
        await sleep(1_000);
      }
    })();

    let kills = 0;
    let killsWhileStarting = 0;
    let lastKillAt = Date.now();
    for (let round = 0; round < 15; round++) {
      // Every worker process the launcher runs, the one serving and one still starting alike.
      for (const pid of launcher!.childPids('dist/apps/worker/')) {
        const serving = launcher!.partPid('worker') === pid;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          continue; // exited by itself meanwhile
        }
        kills += 1;
        if (!serving) killsWhileStarting += 1;
        lastKillAt = Date.now();
      }
      await sleep(2_000);
    }
    // How soon is a figure, printed below, not an assertion: the worker's start (bundling its workflows at a lower
    // CPU priority) takes seconds on a quiet machine and several times that on a loaded one.
    await untilWorkerServes(launcher!, 120_000);
    const backAfterMs = Date.now() - lastKillAt;
    streaming = false;
    await Promise.all([stream, probe]);
    console.log(
      `worker SIGKILLed ${kills} times in 30 s (${killsWhileStarting} while starting); serving again ${(backAfterMs / 1000).toFixed(1)} s after the last kill; ${statuses.length} publishes meanwhile`,
    );

    expect(statuses.filter((status) => status !== 202)).toEqual([]);
    expect(killsWhileStarting).toBeGreaterThan(0);
    expect(launcher!.output).toMatch(/\[start\] worker exited by itself \(signal SIGKILL\); restarting it in \d+ ms/);
    expect(launcher!.output).toMatch(/\[start\] worker failed to start; restarting it in \d+ ms \(\d+ in a row\)/);
    // The worker down never costs the api its readiness: with Postgres and Temporal up, /readyz is 200, and says
    // the worker is restarting.
    const answered = readiness.filter((sample) => typeof sample !== 'string');
    expect(
      answered.filter((sample) => sample.body.checks.postgres === 'ok' && sample.body.checks.temporal === 'ok'),
    ).toEqual(answered.filter((sample) => sample.status === 200));
    expect(answered).toContainEqual({
      status: 200,
      body: {
        status: 'degraded',
        checks: { postgres: 'ok', temporal: 'ok', worker: expect.stringMatching(/^restarting: \d+ exits in a row/) },
      },
    });
    expect(await apiReadiness(launcher!)).toEqual({
      status: 200,
      body: { status: 'ready', checks: { postgres: 'ok', temporal: 'ok', worker: 'ok' } },
    });
    await untilDelivered(
      launcher!,
      statuses.map((_, n) => `evt_supervised_${tenantId}_${n}`),
    );
  }, 600_000);

  it('restarts the embedded Temporal dev server and Postgres when they are killed, on their data', async () => {
    const tenantId = `tnt_supervised_servers_${Date.now()}`;
    await subscribe(launcher!.client, url, { tenantId, eventTypes: ['user.*'] });
    expect(await publish(launcher!, tenantId, 0)).toBe(202);
    const temporalBack = await killAndAwaitBack(launcher!, 'temporal');
    expect(await publish(launcher!, tenantId, 1)).toBe(202);
    const postgresBack = await killAndAwaitBack(launcher!, 'postgres');
    console.log(
      `Temporal dev server back after ${(temporalBack / 1000).toFixed(1)} s, Postgres after ${(postgresBack / 1000).toFixed(1)} s`,
    );
    // The api's pool reconnects on the next request; a publisher retries with the same event_id.
    await eventually(async () => (await publish(launcher!, tenantId, 2)) === 202, {
      timeout: 60_000,
      description: 'a publish after Postgres came back',
    });
    await untilDelivered(
      launcher!,
      [0, 1, 2].map((n) => `evt_supervised_${tenantId}_${n}`),
    );
    expect(launcher!.output).toMatch(/\[start\] temporal exited by itself \(signal SIGKILL\)/);
    expect(launcher!.output).toMatch(/\[start\] postgres exited by itself \(signal SIGKILL\)/);
  }, 600_000);
});

describe('npm start with a worker that cannot start at first', () => {
  it('starts anyway: the api serves and takes publishes, and the worker, retried with backoff, delivers once it starts', async () => {
    const starting = await launcherSettings();
    // The worker's endpoint port held by another process: every start of the worker fails with EADDRINUSE.
    const holder = createServer();
    holder.listen(Number(starting.env.WORKER_METRICS_PORT), '0.0.0.0');
    await once(holder, 'listening');
    let late: LauncherProcess | undefined;
    try {
      late = await LauncherProcess.start(starting);
      expect(late.output).toMatch(
        /\[start\] worker failed to start; restarting it in 250 ms \(1 in a row\): the worker exited while starting \(exit code 1\)/,
      );
      expect(late.output).toMatch(/Worker +not running yet: restarting it/);
      expect(await apiReadiness(late)).toEqual({
        status: 200,
        body: {
          status: 'degraded',
          checks: { postgres: 'ok', temporal: 'ok', worker: expect.stringMatching(/^restarting: /) },
        },
      });
      const tenantId = `tnt_late_worker_${Date.now()}`;
      await subscribe(late.client, url, { tenantId, eventTypes: ['user.*'] });
      expect(await publish(late, tenantId, 0)).toBe(202);

      holder.close();
      // The backoff has grown with each failed start, up to 30 s; the next start succeeds.
      await untilWorkerServes(late, 120_000);
      expect(late.output).toMatch(/\[start\] worker is back \(pid \d+\)/);
      await untilDelivered(late, [`evt_supervised_${tenantId}_0`]);
    } finally {
      holder.close();
      await late?.close();
      removeDataDir(starting);
    }
  }, 600_000);
});
