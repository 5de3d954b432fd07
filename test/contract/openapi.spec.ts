import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack, startStack, WAITING_POLICY } from '../helpers/stack';
import { contractTool } from './tools';

const root = join(__dirname, '..', '..');
const CLIENT_DIR = join(root, 'packages', 'client');

/** The client's types for a document, by the compiled generator npm run openapi uses (openapi-typescript is ESM inside, which jest does not load). */
function clientTypes(document: object): string {
  const script = `require(${JSON.stringify(join(root, 'dist', 'tools', 'openapi-types'))}).clientTypes(JSON.parse(require('fs').readFileSync(0, 'utf8'))).then((text) => process.stdout.write(text))`;
  const run = spawnSync(process.execPath, ['-e', script], {
    input: JSON.stringify(document),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(run.stderr);
  return run.stdout;
}
let stack: Stack;
let served: any;

beforeAll(async () => {
  stack = await startStack(WAITING_POLICY, { worker: false });
  served = await fetch(`${stack.baseUrl}/docs-json`).then((response) => response.json());
});
afterAll(() => stack?.stop());

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 for an independent validator (openapi-spec-validator)', () => {
    const check = spawnSync(
      contractTool('TEST_CONTRACT_PYTHON'),
      [
        '-c',
        'import json, sys; from openapi_spec_validator import validate; validate(json.load(sys.stdin)); print("valid")',
      ],
      {
        input: JSON.stringify(served),
        encoding: 'utf8',
      },
    );
    expect({
      status: check.status,
      stdout: check.stdout.trim(),
      stderr: check.stderr.trim().split('\n').slice(-5).join('\n'),
    }).toEqual({ status: 0, stdout: 'valid', stderr: '' });
    expect(served.openapi).toBe('3.1.0');
  });

  it('is the one the typed client was generated from (else: npm run openapi)', () => {
    const committed = JSON.parse(readFileSync(join(CLIENT_DIR, 'openapi.json'), 'utf8'));
    expect(served).toEqual(committed);
    expect(clientTypes(committed)).toBe(readFileSync(join(CLIENT_DIR, 'src', 'schema.ts'), 'utf8'));
  });

  it('states, for every operation, its success answer, its errors and the bearer scheme', () => {
    expect(served.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const operations = Object.entries(served.paths).flatMap(([path, item]) =>
      Object.entries(item as object).map(([method, operation]) => ({ path, method, operation })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(24);
    for (const { path, method, operation } of operations) {
      const statuses = Object.keys(operation.responses);
      const label = `${method.toUpperCase()} ${path}`;
      expect([label, statuses.some((status) => /^2/.test(status))]).toEqual([label, true]);
      expect([label, statuses]).toEqual([label, expect.arrayContaining(['401'])]);
      for (const status of statuses.filter((s) => /^[45]/.test(s))) {
        expect([label, status, operation.responses[status].content['application/json'].schema]).toEqual([
          label,
          status,
          { $ref: '#/components/schemas/Error' },
        ]);
      }
      expect([label, operation.security]).toEqual([label, [{ bearer: [] }]]);
      if (operation.requestBody) expect([label, typeof operation.requestBody.required]).toEqual([label, 'boolean']);
    }
  });

  it('describes the webhooks the product sends: one per catalogue type, with its body and headers', async () => {
    const catalogue = (await stack.request('GET', '/v1/event-types')).body.data.map(
      (type: { name: string }) => type.name,
    );
    expect(Object.keys(served.webhooks)).toEqual(catalogue);
    expect(served.components.schemas.EventType.enum).toEqual(catalogue);
    const signedUp = served.webhooks['user.signed_up'].post;
    expect(signedUp.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/UserSignedUpWebhook',
    });
    expect(served.components.schemas.UserSignedUpWebhook.properties.data).toEqual({
      $ref: '#/components/schemas/UserSignedUpData',
    });
    const headers = signedUp.parameters.map(
      (p: { $ref?: string; name?: string }) => p.name ?? served.components.parameters[p.$ref!.split('/').pop()!].name,
    );
    expect(headers).toEqual(
      expect.arrayContaining([
        'webhook-id',
        'webhook-timestamp',
        'webhook-signature',
        'X-IntelliAuth-Signature',
        'X-IntelliAuth-Event-Type',
      ]),
    );
  });
});
