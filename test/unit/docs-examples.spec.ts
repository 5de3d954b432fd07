import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The examples in the documentation are the files the tests run: each code block marked `<!-- file: path -->` must
 * show that file exactly (path relative to the document). And every curl command in it calls a route the OpenAPI
 * document has, with a body that is JSON.
 */
const root = join(__dirname, '..', '..');
const DOCUMENTS = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
  ...readdirSync(join(root, 'packages'))
    .map((name) => `packages/${name}/README.md`)
    .filter((readme) => existsSync(join(root, readme))),
];

const read = (document: string) => readFileSync(join(root, document), 'utf8');

function markedBlocks(document: string): Array<{ path: string; code: string }> {
  return [...read(document).matchAll(/<!-- file: (\S+) -->\n```\w*\n([\s\S]*?)```/g)].map(([, path, code]) => ({
    path: join(dirname(document), path),
    code,
  }));
}

/** The commands of a shell block as the shell splits them: quotes may span lines, `\` continues one, `#` comments. */
function shellCommands(block: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  for (const [, single, double, comment, newline, word] of block
    .replace(/\\\n/g, ' ')
    .matchAll(/'([^']*)'|"([^"]*)"|(#[^\n]*)|(\n)|([^\s'"]+)/g)) {
    if (newline !== undefined) {
      if (words.length > 0) commands.push(words);
      words = [];
    } else if (comment === undefined) words.push(single ?? double ?? word);
  }
  if (words.length > 0) commands.push(words);
  return commands;
}

interface Call {
  document: string;
  method: string;
  path: string;
  body?: string;
}

function curlCalls(document: string): Call[] {
  const blocks = [...read(document).matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]);
  return blocks
    .flatMap(shellCommands)
    .filter((words) => words[0] === 'curl')
    .map((words) => {
      const option = (name: string) => (words.includes(name) ? words[words.indexOf(name) + 1] : undefined);
      const url = words.find((word) => /^(https?:\/\/)?(localhost|127\.0\.0\.1):3000\//.test(word));
      const body = option('-d');
      return {
        document,
        method: option('-X') ?? (body === undefined ? 'GET' : 'POST'),
        path: (url ?? '').replace(/^(https?:\/\/)?[^/]+/, '').replace(/\?.*/, ''),
        body,
      };
    });
}

const openapi = JSON.parse(read('packages/client/openapi.json')) as { paths: Record<string, object> };

/** The OpenAPI path (template) a concrete path is an instance of, if the document has one. */
function routeOf(path: string): string | undefined {
  return Object.keys(openapi.paths).find((template) =>
    new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path),
  );
}

describe('the examples in the documentation', () => {
  it('show the example files the tests run, exactly', () => {
    const blocks = DOCUMENTS.flatMap(markedBlocks);
    for (const { path, code } of blocks)
      expect({ path, code }).toEqual({ path, code: readFileSync(join(root, path), 'utf8') });
  });

  it('show every receiver example and the client example, each where its readers look', () => {
    const shown = Object.fromEntries(
      DOCUMENTS.map((document) => [document, markedBlocks(document).map((block) => block.path)]).filter(
        ([, paths]) => paths.length > 0,
      ),
    );
    expect(shown).toEqual({
      'docs/api.md': ['packages/client/examples/quickstart.ts'],
      'docs/receivers.md': ['packages/receiver/examples/node-http.ts'],
      'packages/receiver/README.md': [
        'packages/receiver/examples/express.ts',
        'packages/receiver/examples/fastify.ts',
        'packages/receiver/examples/next-route.ts',
        'packages/receiver/examples/node-http.ts',
        'packages/receiver/examples/python/receiver.py',
        'packages/receiver/examples/go/main.go',
      ],
    });
  });

  it('call with curl only routes the API has, with JSON bodies', () => {
    const calls = DOCUMENTS.flatMap(curlCalls);
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) {
      const route = routeOf(call.path);
      const served = route !== undefined && call.method.toLowerCase() in openapi.paths[route];
      expect({ call, served }).toEqual({ call, served: true });
      if (call.body !== undefined) expect(() => JSON.parse(call.body!)).not.toThrow();
    }
    const tour = curlCalls('README.md').map((call) => `${call.method} ${routeOf(call.path)}`);
    expect(tour).toEqual([
      'POST /v1/subscriptions',
      'POST /v1/events',
      'GET /v1/events/{eventId}',
      'GET /v1/deliveries/{id}',
      'GET /v1/deliveries',
    ]);
  });
});
