import { credentials, loadPackageDefinition, Metadata, ServiceError } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer } from '@grpc/proto-loader';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileDescriptorProto, FileDescriptorSet } from 'protobufjs/ext/descriptor';
import { DESCRIPTOR_SET_PATH } from '../../apps/api/src/grpc/reflection';
import { uniqueTenant } from '../helpers/database';
import { reflectionClient } from '../helpers/grpc-clients';
import { Stack, startStack, WAITING_POLICY } from '../helpers/stack';
import { contractTool } from './tools';

const root = join(__dirname, '..', '..');
const SERVICE = 'intelliauth.webhooks.v1.WebhooksService';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack(WAITING_POLICY, { worker: false });
});
afterAll(() => stack?.stop());

function buf(args: string[], cwd = root) {
  const run = spawnSync(contractTool('TEST_BUF'), args, { cwd, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

/** grpcurl, without blocking this process: the server it talks to runs here. */
function grpcurl(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(contractTool('TEST_GRPCURL'), args);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (status) => resolve({ status, stdout, stderr: stderr.trim() }));
  });
}

/** The grpcurl commands of docs/api.md, continuation lines joined, pointed at this stack with its key. */
function documentedGrpcurlCommands(tenantId: string): string[][] {
  const document = readFileSync(join(root, 'docs', 'api.md'), 'utf8');
  const blocks = [...document.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1].replace(/\\\n\s*/g, ''));
  return blocks
    .flatMap((block) => block.split('\n'))
    .filter((line) => line.startsWith('grpcurl '))
    .map((line) =>
      // Words, single-quoted strings and double-quoted strings, as the shell splits them.
      [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)]
        .map((match) => match[1] ?? match[2] ?? match[3])
        .map((word) =>
          word
            .replace('$KEY', stack.apiKey)
            .replace('127.0.0.1:50051', stack.grpcAddress)
            .replace('tnt_acme', tenantId),
        ),
    );
}

/** One exchange on the reflection stream, as grpcurl does it (v1 of grpc.reflection). */
function reflect(client: any, request: object): Promise<any> {
  return new Promise((resolve, reject) => {
    const stream = client.ServerReflectionInfo();
    stream.on('data', (response: any) => {
      resolve(response);
      stream.end();
    });
    stream.on('error', reject);
    stream.write(request);
  });
}

describe('gRPC reflection serves every file the service needs', () => {
  it('resolves the service by symbol, then every import by file name, and calls Publish from those descriptors alone', async () => {
    const reflection = reflectionClient(stack.grpcAddress, 'v1');
    try {
      const listed = await reflect(reflection, { list_services: '*' });
      expect(listed.list_services_response.service.map((s: { name: string }) => s.name)).toContain(SERVICE);

      const files = new Map<string, Buffer>();
      const wanted = [{ file_containing_symbol: SERVICE }];
      while (wanted.length > 0) {
        const answer = await reflect(reflection, wanted.pop()!);
        expect(answer.error_response).toBeFalsy();
        for (const bytes of answer.file_descriptor_response.file_descriptor_proto as Buffer[]) {
          const file = FileDescriptorProto.decode(bytes) as unknown as { name: string; dependency: string[] };
          files.set(file.name, bytes);
          for (const dependency of file.dependency)
            if (!files.has(dependency)) wanted.push({ file_by_filename: dependency } as never);
        }
      }
      expect([...files.keys()].sort()).toEqual([
        'google/protobuf/struct.proto',
        'intelliauth/webhooks/v1/webhooks.proto',
      ]);
      const message = await reflect(reflection, { file_containing_symbol: 'intelliauth.webhooks.v1.PublishRequest' });
      expect(message.file_descriptor_response.file_descriptor_proto.length).toBeGreaterThan(0);

      const set = FileDescriptorSet.encode({
        file: [...files.values()].map((bytes) => FileDescriptorProto.decode(bytes)),
      } as never).finish();
      const definition = loadFileDescriptorSetFromBuffer(Buffer.from(set), {
        keepCase: true,
        defaults: true,
        oneofs: true,
      });
      const Service = (loadPackageDefinition(definition) as any).intelliauth.webhooks.v1.WebhooksService;
      const client = new Service(stack.grpcAddress, credentials.createInsecure());
      const metadata = new Metadata();
      metadata.set('authorization', `Bearer ${stack.apiKey}`);
      const published: any = await new Promise((resolve, reject) =>
        client.Publish(
          {
            event_type: 'user.updated',
            tenant: { id: uniqueTenant() },
            // Field names as struct.proto has them (keepCase), and a map as protobufjs builds one from a descriptor:
            // its wire form, repeated key/value entries.
            actor: { fields: [{ key: 'kind', value: { string_value: 'user' } }] },
            data: {
              fields: [
                { key: 'user', value: { struct_value: { fields: [{ key: 'id', value: { string_value: 'usr_1' } }] } } },
              ],
            },
          },
          metadata,
          (error: ServiceError | null, response: unknown) => (error ? reject(error) : resolve(response)),
        ),
      );
      client.close();
      expect(published).toMatchObject({ event_id: expect.stringMatching(/^evt_/), deliveries: [], replayed: false });
    } finally {
      reflection.close();
    }
  });

  it('grpcurl describes the service and the messages behind it, comments included', async () => {
    const listed = await grpcurl(['-plaintext', stack.grpcAddress, 'list']);
    expect({ status: listed.status, services: listed.stdout.trim().split('\n') }).toEqual({
      status: 0,
      services: expect.arrayContaining([SERVICE]),
    });
    const service = await grpcurl(['-plaintext', stack.grpcAddress, 'describe', SERVICE]);
    expect({ status: service.status, stderr: service.stderr }).toEqual({ status: 0, stderr: '' });
    expect(service.stdout).toContain(`${SERVICE} is a service:`);
    expect(service.stdout).toContain(
      'rpc Publish ( .intelliauth.webhooks.v1.PublishRequest ) returns ( .intelliauth.webhooks.v1.PublishResponse );',
    );
    expect(service.stdout).toContain('// Stores the event and one delivery per matching subscription');
    const request = await grpcurl([
      '-plaintext',
      stack.grpcAddress,
      'describe',
      'intelliauth.webhooks.v1.PublishRequest',
    ]);
    expect(request.stdout).toContain('.google.protobuf.Struct actor = 5;');
  });

  it("runs docs/api.md's grpcurl commands as written", async () => {
    const commands = documentedGrpcurlCommands(uniqueTenant());
    expect(commands.map((words) => words.at(-1))).toEqual(expect.arrayContaining([`${SERVICE}/Publish`, SERVICE]));
    for (const [, ...args] of commands) {
      const run = await grpcurl(args);
      expect({ command: args.at(-1), status: run.status, stderr: run.stderr }).toEqual({
        command: args.at(-1),
        status: 0,
        stderr: '',
      });
      if (args.at(-1) === `${SERVICE}/Publish`)
        expect(JSON.parse(run.stdout)).toMatchObject({ eventId: expect.stringMatching(/^evt_/) });
    }
  });
});

describe('the .proto contract', () => {
  it('passes buf lint with the default rules (the exceptions in buf.yaml say why)', () => {
    expect(buf(['lint'])).toEqual({ status: 0, output: '' });
  });

  it('is what the reflection serves: proto/webhooks.binpb is buf build of it (else: buf build --as-file-descriptor-set -o proto/webhooks.binpb)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iaw-buf-'));
    try {
      expect(buf(['build', '--as-file-descriptor-set', '-o', join(dir, 'set.binpb')]).status).toBe(0);
      expect(readFileSync(join(dir, 'set.binpb')).equals(readFileSync(DESCRIPTOR_SET_PATH))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has no breaking change against the committed baseline, and the check catches one', () => {
    expect(buf(['breaking', '--against', 'proto/breaking-baseline.binpb'])).toEqual({ status: 0, output: '' });
    const dir = mkdtempSync(join(tmpdir(), 'iaw-buf-'));
    try {
      cpSync(join(root, 'proto'), join(dir, 'proto'), { recursive: true });
      cpSync(join(root, 'buf.yaml'), join(dir, 'buf.yaml'));
      const proto = join(dir, 'proto', 'intelliauth', 'webhooks', 'v1', 'webhooks.proto');
      writeFileSync(proto, readFileSync(proto, 'utf8').replace('  bool replayed = 3;', ''));
      const broken = buf(['breaking', '--against', join(root, 'proto', 'breaking-baseline.binpb')], dir);
      expect(broken.status).not.toBe(0);
      expect(broken.output).toMatch(
        /Previously present field "3" with name "replayed" on message "PublishResponse" was deleted/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
