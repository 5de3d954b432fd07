import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  API_KEY_ID_PATTERN,
  BULK_REDRIVE_ID_PATTERN,
  LISTEN_REQUEST_ID_PATTERN,
  DELIVERY_ID_PATTERN,
  EVENT_ID_PATTERN,
  PORTAL_SESSION_ID_PATTERN,
  REPLAY_ID_PATTERN,
  SUBSCRIPTION_ID_PATTERN,
  TENANT_ID_PATTERN,
} from '../../libs/contracts/ids';
import { uniqueTenant } from '../helpers/database';
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

  it('holds every path id to the pattern it states: 400 invalid_id for a value breaking it (a tenant id of another shape was taken, an over-long id was a 414)', async () => {
    const ulid = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
    const tenantId = uniqueTenant();
    // One value of each id's shape, by the pattern the document states for it.
    const wellFormed = new Map<string, string>([
      [TENANT_ID_PATTERN.source, tenantId],
      [EVENT_ID_PATTERN.source, `evt_${ulid}`],
      [SUBSCRIPTION_ID_PATTERN.source, `whsub_${ulid}`],
      [DELIVERY_ID_PATTERN.source, `whdlv_${ulid}`],
      [API_KEY_ID_PATTERN.source, `key_${ulid}`],
      [PORTAL_SESSION_ID_PATTERN.source, `psn_${ulid}`],
      [BULK_REDRIVE_ID_PATTERN.source, `redrv_${ulid}`],
      [REPLAY_ID_PATTERN.source, `rply_${ulid}`],
      [LISTEN_REQUEST_ID_PATTERN.source, `lreq_${ulid}`],
    ]);
    const malformed = [
      'not an id',
      'tnt_é',
      `evt_${'a'.repeat(200)}`,
      `whsub_${ulid}\u0000`,
      `whsub_${ulid.toLowerCase()}`,
    ];
    const send = (method: string, path: string) =>
      stack.request(method.toUpperCase(), path, ['post', 'patch'].includes(method) ? {} : undefined);
    const answers: string[][] = [];
    const expected: string[][] = [];
    for (const [template, item] of Object.entries(served.paths as Record<string, Record<string, any>>)) {
      for (const [method, operation] of Object.entries(item)) {
        const params: Array<{ name: string; schema: { pattern?: string } }> = (operation.parameters ?? []).filter(
          (parameter: { in: string }) => parameter.in === 'path',
        );
        const path = (values: Record<string, string>) =>
          template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(values[name]));
        const valid = Object.fromEntries(params.map((p) => [p.name, wellFormed.get(p.schema.pattern ?? '') ?? '']));
        const label = `${method.toUpperCase()} ${template}`;
        for (const param of params) {
          expect([label, param.name, valid[param.name]]).toEqual([label, param.name, expect.stringMatching(/./)]);
          for (const value of malformed.filter((text) => !new RegExp(param.schema.pattern!).test(text))) {
            const answer = await send(method, path({ ...valid, [param.name]: value }));
            answers.push([label, param.name, value, String(answer.status), answer.body?.error?.code]);
            expected.push([label, param.name, value, '400', 'invalid_id']);
          }
        }
        // Well-formed ids pass the check: what follows is the operation's own answer (404 for these unknown ids).
        if (params.length > 0) {
          const answer = await send(method, path(valid));
          expect([label, answer.body?.error?.code]).not.toEqual([label, 'invalid_id']);
        }
      }
    }
    expect(answers).toEqual(expected);
    expect(new Set(answers.map(([label]) => label)).size).toBeGreaterThanOrEqual(19);
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
