import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../helpers/eventually';
import { subscribe } from '../helpers/fixtures';
import { LauncherProcess, launcherSettings, LauncherSettings, removeDataDir } from '../helpers/launcher-process';
import { Scrape } from '../helpers/metrics';
import { TestReceiver } from '../helpers/receiver';

/**
 * `npm start` supervises what it started: a part that exits by itself is restarted with backoff while the others
 * keep running. Publishers never notice a worker crash: the api keeps answering, and every event is delivered.
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
    expect((await fetch(`${settings!.apiUrl}/readyz`)).status).toBe(200);
  });
});

describe('npm start supervises its parts', () => {
  it('restarts a worker SIGKILLed 5 times during a stream of publishes: every publish answered 202, every event delivered', async () => {
    const tenantId = `tnt_supervised_${Date.now()}`;
    await subscribe(launcher!.client, url, { tenantId, eventTypes: ['user.*'] });
    const statuses: Array<number | string> = [];
    let killing = true;
    // The stream: one publish every 100 ms until the kills are over, each answer kept.
    const stream = (async () => {
      for (let n = 0; killing && n < 5_000; n++) {
        statuses.push(await publish(launcher!, tenantId, n));
        await sleep(100);
      }
    })();
    const backAfterMs: number[] = [];
    for (let kill = 0; kill < 5; kill++) {
      await sleep(1_000);
      backAfterMs.push(await killAndAwaitBack(launcher!, 'worker'));
    }
    await sleep(1_000);
    killing = false;
    await stream;
    console.log(
      `worker SIGKILLed 5 times; back (restarted and polling) after ${backAfterMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')}; ${statuses.length} publishes meanwhile`,
    );

    expect(statuses.filter((status) => status !== 202)).toEqual([]);
    expect(launcher!.output).toMatch(/\[start\] worker exited by itself \(signal SIGKILL\); restarting it in \d+ ms/);
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
