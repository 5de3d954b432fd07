import { Client, Connection } from '@temporalio/client';
import { deliveryWorkflowId } from '../../libs/contracts/ids';
import { assertPortFree } from '../../tools/embedded/free-port';
import { eventually } from '../helpers/eventually';
import { LauncherProcess, launcherSettings, LauncherSettings, removeDataDir } from '../helpers/launcher-process';
import { TestReceiver } from '../helpers/receiver';

/**
 * Ctrl-C in the terminal that runs `npm start`, with an attempt in flight: the terminal sends SIGINT to the whole
 * foreground process group. Only the launcher may act on it; it stops api and worker first, so the attempt that is
 * under way finishes, is recorded and reported to Temporal, and only then stops Temporal and Postgres.
 */
let settings: LauncherSettings | undefined;
let launcher: LauncherProcess | undefined;
const receiver = new TestReceiver(() => ({ status: 200, delayMs: 6_000 }));

afterAll(async () => {
  await launcher?.close();
  await receiver.stop();
  removeDataDir(settings);
});

describe('npm start and Ctrl-C', () => {
  it('lets the attempt in flight finish and be recorded, and never sends it again after a restart', async () => {
    settings = await launcherSettings();
    const url = await receiver.start();
    launcher = await LauncherProcess.start(settings);
    const tenantId = `tnt_ctrl_c_${Date.now()}`;
    const subscription = await launcher.client.request('POST', '/v1/subscriptions', {
      tenant_id: tenantId,
      url,
      event_types: ['user.*'],
    });
    expect(subscription.status).toBe(201);
    const published = await launcher.client.request('POST', '/v1/events', {
      event_type: 'user.updated',
      tenant: { id: tenantId },
      data: { user: { id: 'usr_1' } },
    });
    expect(published.status).toBe(202);
    const deliveryId: string = published.body.deliveries[0].id;

    // The receiver holds the attempt for 6 s; Ctrl-C lands while it is in flight.
    await eventually(() => receiver.requests.length === 1, {
      timeout: 60_000,
      description: 'the attempt to reach the receiver',
    });
    const interrupted = await launcher.interrupt();
    console.log(
      `Ctrl-C with an attempt in flight: npm start stopped in ${(interrupted.ms / 1000).toFixed(1)} s (exit code ${interrupted.code})`,
    );
    expect(interrupted.code).toBe(0);
    expect(launcher.output).not.toMatch(/ECONNREFUSED/);

    launcher = await LauncherProcess.start(settings);
    const delivery = await launcher.client.request('GET', `/v1/deliveries/${deliveryId}`);
    expect(delivery.body).toMatchObject({ status: 'delivered', attempt_count: 1, last_status_code: 200 });
    expect(delivery.body.attempts).toEqual([
      expect.objectContaining({ attempt: 1, status_code: 200, succeeded: true }),
    ]);
    // Temporal has the attempt's result: the restarted worker only completes the workflow with it (the stopping
    // worker polls no more workflow tasks). An attempt whose result was lost would be run again: a second receipt.
    const client = new Client({ connection: await Connection.connect({ address: settings.temporalAddress }) });
    try {
      const handle = client.workflow.getHandle(deliveryWorkflowId(published.body.event_id, subscription.body.id));
      expect(await handle.result()).toMatchObject({ status: 'delivered', attemptsThisRun: 1 });
    } finally {
      await client.connection.close();
    }
    expect(receiver.requests).toHaveLength(1);

    // Nothing in flight: the stop takes as long as the parts need to close, far less than the worker's grace.
    const idle = await launcher.interrupt();
    console.log(
      `Ctrl-C with nothing in flight: npm start stopped in ${(idle.ms / 1000).toFixed(1)} s (exit code ${idle.code})`,
    );
    expect(idle.code).toBe(0);
    expect(receiver.requests).toHaveLength(1);
  }, 600_000);

  it('stops what it already started when Ctrl-C comes during the start: nothing is left listening', async () => {
    const starting = await launcherSettings();
    const early = LauncherProcess.spawn(starting);
    try {
      await early.untilOutput(/\[start\] temporal running/, 300_000, 'the Temporal dev server to be started');
      // The output rides along so that a failed stop shows why.
      expect({ ...(await early.interrupt()), output: early.output }).toMatchObject({ code: 0 });
      expect(early.output).toMatch(/\[start\] stopped in/);
      for (const name of ['EMBEDDED_POSTGRES_PORT', 'EMBEDDED_TEMPORAL_PORT', 'PORT', 'WORKER_METRICS_PORT']) {
        await assertPortFree(Number(starting.env[name]), `${name} after the stop`);
      }
    } finally {
      await early.close();
      removeDataDir(starting);
    }
  }, 600_000);
});
