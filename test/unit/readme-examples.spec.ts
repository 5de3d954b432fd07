import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The README examples are the files the tests run: each code block marked `<!-- file: path -->` must show that
 * file exactly (path relative to the README).
 */
const root = join(__dirname, '..', '..');
const READMES = ['README.md', 'packages/receiver/README.md'];

function markedBlocks(readme: string): Array<{ path: string; code: string }> {
  const text = readFileSync(join(root, readme), 'utf8');
  return [...text.matchAll(/<!-- file: (\S+) -->\n```\w*\n([\s\S]*?)```/g)].map(([, path, code]) => ({
    path: join(dirname(readme), path),
    code,
  }));
}

describe('README examples', () => {
  it.each(READMES)('%s shows the example files the tests run, exactly', (readme) => {
    const blocks = markedBlocks(readme);
    expect(blocks.length).toBeGreaterThan(0);
    for (const { path, code } of blocks)
      expect({ path, code }).toEqual({ path, code: readFileSync(join(root, path), 'utf8') });
  });

  it('covers every receiver example and the client example', () => {
    const shown = READMES.flatMap((readme) => markedBlocks(readme).map((block) => block.path));
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
