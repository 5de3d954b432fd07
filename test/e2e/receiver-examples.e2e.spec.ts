import type { VerifiedEvent } from '@intelliauth/webhooks-receiver';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expressReceiver } from '../../packages/receiver/examples/express';
import { fastifyReceiver } from '../../packages/receiver/examples/fastify';
import { POST as nextRoute } from '../../packages/receiver/examples/next-route';
import { nodeHttpReceiver } from '../../packages/receiver/examples/node-http';
import { intelliauthSignature, signingKey } from '../../libs/signing/signing';
import { contractTool } from '../contract/tools';
import { uniqueTenant } from '../helpers/database';
import { eventually } from '../helpers/eventually';
import { deliveryIn, publish, subscribe } from '../helpers/fixtures';

import { Stack, startStack } from '../helpers/stack';

/**
 * Every receiver example of packages/receiver/README.md, run as written against real deliveries from the product:
 * the TypeScript ones with the receiver library, the Python and Go ones with their languages' Standard Webhooks
 * libraries. Each must take the real delivery (answered 204, delivery delivered) and refuse a forged one (400),
 * and one with only the body-only X-IntelliAuth-Signature (the webhook-* headers stripped, the timestamp unsigned).
 */
const EXAMPLES = join(__dirname, '..', '..', 'packages', 'receiver', 'examples');
let stack: Stack;
let dir: string;

beforeAll(async () => {
  stack = await startStack({ retryScheduleMs: [0, 1_000], attemptTimeoutMs: 5_000, ttlMs: 86_400_000 });
  dir = mkdtempSync(join(tmpdir(), 'iaw-receivers-'));
});
afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Running {
  url: string;
  received: () => string[];
  stop: () => Promise<void>;
}

const listen = (server: Server): Promise<string> =>
  new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/intelliauth`),
    ),
  );
const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

/** A TypeScript example: what it hands onEvent is what it received. */
async function inProcess(
  start: (secret: string, onEvent: (event: VerifiedEvent) => void) => Server | Promise<Server>,
  secret: string,
): Promise<Running> {
  const events: string[] = [];
  const server = await start(secret, (event) => events.push(`${event.event_type} ${event.event_id}`));
  return { url: await listen(server), received: () => events, stop: () => close(server) };
}

/** Next.js calls a route handler with a Fetch API Request and sends the Response it answers; so does this. */
function nextAdapter(handler: (request: Request) => Promise<Response>): Server {
  return createServer(async (incoming, outgoing) => {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const headers = new Headers(Object.entries(incoming.headers).map(([name, value]) => [name, String(value)]));
    const response = await handler(
      new Request(`http://127.0.0.1${incoming.url}`, { method: incoming.method, headers, body: Buffer.concat(chunks) }),
    );
    outgoing
      .writeHead(response.status, Object.fromEntries(response.headers))
      .end(Buffer.from(await response.arrayBuffer()));
  });
}

/** A Python or Go example, started as its README says, with the secret and a port in the environment; it prints what it received. */
async function child(command: string, args: string[], secret: string, cwd: string): Promise<Running> {
  const lines: string[] = [];
  const process_: ChildProcess = spawn(command, args, {
    cwd,
    env: { ...process.env, WEBHOOK_SECRET: secret, PORT: '0' },
  });
  let stderr = '';
  process_.stderr!.on('data', (chunk) => (stderr += chunk));
  process_.stdout!.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const port = await eventually(
    () => lines.find((line) => line.startsWith('listening on '))?.slice('listening on '.length),
    { timeout: 60_000, description: `${command} to listen (${stderr})` },
  );
  return {
    url: `http://127.0.0.1:${port}/webhooks/intelliauth`,
    received: () => lines.filter((line) => !line.startsWith('listening on ')),
    stop: async () => {
      process_.kill();
      await new Promise((resolve) => process_.once('exit', resolve));
    },
  };
}

const examples: Array<[string, (secret: string) => Promise<Running>]> = [
  ['Express', (secret) => inProcess((key, onEvent) => createServer(expressReceiver(key, onEvent)), secret)],
  [
    'Fastify',
    async (secret) => {
      const events: string[] = [];
      const app = fastifyReceiver(secret, (event) => events.push(`${event.event_type} ${event.event_id}`));
      await app.listen({ port: 0, host: '127.0.0.1' });
      return {
        url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/webhooks/intelliauth`,
        received: () => events,
        stop: () => app.close(),
      };
    },
  ],
  [
    'Next.js route handler',
    async (secret) => {
      process.env.WEBHOOK_SECRET = secret;
      const logged: string[] = [];
      const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void logged.push(line));
      const server = nextAdapter(nextRoute);
      return {
        url: await listen(server),
        received: () => logged,
        stop: async () => (log.mockRestore(), await close(server)),
      };
    },
  ],
  ['node:http', (secret) => inProcess(nodeHttpReceiver, secret)],
  [
    'Python (standardwebhooks)',
    (secret) => child(contractTool('TEST_CONTRACT_PYTHON'), ['receiver.py'], secret, join(EXAMPLES, 'python')),
  ],
  [
    'Go (standard-webhooks/libraries/go)',
    (secret) => {
      const binary = join(dir, 'go-receiver');
      const build = spawnSync('go', ['build', '-o', binary, '.'], { cwd: join(EXAMPLES, 'go'), encoding: 'utf8' });
      if (build.status !== 0) throw new Error(`go build failed: ${build.stderr}`);
      return child(binary, [], secret, dir);
    },
  ],
];

describe('the receiver examples (packages/receiver/README.md) against real deliveries', () => {
  it.each(examples)(
    '%s verifies a real delivery and refuses a forged or body-only signed one',
    async (_name, start) => {
      const tenantId = uniqueTenant();
      // The secret exists once the subscription does: subscribe first, then point it at the started receiver.
      const subscription = await subscribe(stack.client, 'http://127.0.0.1:9/not-yet', {
        tenantId,
        eventTypes: ['user.*'],
      });
      const receiver = await start(subscription.secret);
      try {
        await stack.request('PATCH', `/v1/subscriptions/${subscription.id}`, { url: receiver.url });
        const published = await publish(stack.client, tenantId, {
          event_type: 'user.disabled',
          data: { user: { id: 'usr_5' }, reason: 'offboarded' },
        });
        const deliveryId = published.deliveries[0].id;
        await deliveryIn(stack.client, deliveryId, 'delivered', 60_000);
        expect((await stack.request('GET', `/v1/deliveries/${deliveryId}`)).body).toMatchObject({
          last_status_code: 204,
          attempt_count: 1,
        });
        expect(receiver.received()).toEqual([`user.disabled ${published.eventId}`]);

        const forged = await fetch(receiver.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'webhook-id': 'evt_x',
            'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
            'webhook-signature': 'v1,AAAA',
          },
          body: JSON.stringify({ event_id: 'evt_x', event_type: 'user.deleted' }),
        });
        expect(forged.status).toBe(400);
        // Genuinely signed with the subscription's secret, but by the signature that leaves the timestamp out.
        const replayBody = JSON.stringify({ event_id: 'evt_replayed', event_type: 'user.deleted', data: {} });
        const bodyOnly = await fetch(receiver.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-intelliauth-signature': intelliauthSignature(signingKey(subscription.secret), replayBody),
            'x-intelliauth-timestamp': String(Math.floor(Date.now() / 1000)),
          },
          body: replayBody,
        });
        expect(bodyOnly.status).toBe(400);
        expect(receiver.received()).toHaveLength(1);
      } finally {
        await receiver.stop();
      }
    },
  );
});
