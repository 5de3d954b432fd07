import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The README's Layout section is the map of the tree: what it names exists, and no top-level folder is left off. */
const root = join(__dirname, '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const start = readme.indexOf('\n## Layout\n');
const layout = start < 0 ? '' : readme.slice(start, readme.indexOf('\n## ', start + 1));
const block = layout.match(/```\n([\s\S]*?)```/)?.[1] ?? '';

/** Each room the map's block lists: the first column, before the description (`a, b  what they are`). */
const rooms = block
  .split('\n')
  .filter((line) => /^[^\s#]/.test(line))
  .flatMap((line) => line.split(/\s{2,}/)[0].split(', '));

/** The top-level folders the repository keeps (not the ignored ones, such as the build's `dist/`). */
const ignored = readFileSync(join(root, '.gitignore'), 'utf8').split('\n');
const TOP_FOLDERS = readdirSync(root, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && !ignored.includes(`${entry.name}/`))
  .map((entry) => entry.name);

/** Every path inside those folders named anywhere in the section, in prose or in descriptions. */
const named = [...layout.matchAll(new RegExp(`(?<![\\w/.-])(?:${TOP_FOLDERS.join('|')})/[\\w./-]*`, 'g'))].map(
  ([path]) => path.replace(/\.$/, ''),
);

describe("the README's layout", () => {
  it('lists rooms that exist', () => {
    expect(rooms.length).toBeGreaterThan(20);
    expect(rooms.filter((room) => !existsSync(join(root, room)))).toEqual([]);
  });

  it('names only paths that exist', () => {
    expect(named.length).toBeGreaterThan(rooms.length);
    expect(named.filter((path) => !existsSync(join(root, path)))).toEqual([]);
  });

  it('lists every top-level folder', () => {
    expect(TOP_FOLDERS.filter((folder) => !rooms.some((room) => room.split('/')[0] === folder))).toEqual([]);
  });

  it('states the one-way layering that lint enforces', () => {
    const lint = readFileSync(join(root, 'eslint.config.js'), 'utf8');
    const layering = lint.match(/layers point one way: ([a-z <-]+)/)?.[1];
    expect(layering).toBeDefined();
    expect(layout).toContain(`**${layering}**`);
  });
});
