import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The examples in the documentation are the files the tests run: each code block marked `<!-- file: path -->` must
 * show that file exactly (path relative to the document).
 */
const root = join(__dirname, '..', '..');
const DOCUMENTS = ['docs/api.md', 'docs/receivers.md', 'packages/receiver/README.md'];

function markedBlocks(document: string): Array<{ path: string; code: string }> {
  const text = readFileSync(join(root, document), 'utf8');
  return [...text.matchAll(/<!-- file: (\S+) -->\n```\w*\n([\s\S]*?)```/g)].map(([, path, code]) => ({
    path: join(dirname(document), path),
    code,
  }));
}

describe('the examples in the documentation', () => {
  it.each(DOCUMENTS)('%s shows the example files the tests run, exactly', (document) => {
    const blocks = markedBlocks(document);
    expect(blocks.length).toBeGreaterThan(0);
    for (const { path, code } of blocks)
      expect({ path, code }).toEqual({ path, code: readFileSync(join(root, path), 'utf8') });
  });

  it('covers every receiver example and the client example', () => {
    const shown = DOCUMENTS.flatMap((document) => markedBlocks(document).map((block) => block.path));
    expect(shown).toEqual(
      expect.arrayContaining([
        'packages/receiver/examples/express.ts',
        'packages/receiver/examples/fastify.ts',
        'packages/receiver/examples/next-route.ts',
        'packages/receiver/examples/node-http.ts',
        'packages/receiver/examples/python/receiver.py',
        'packages/receiver/examples/go/main.go',
        'packages/client/examples/quickstart.ts',
      ]),
    );
  });
});
