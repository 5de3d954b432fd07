import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertServerCanReach } from '../../tools/embedded/postgres';

describe("npm start's embedded Postgres under root", () => {
  let root: string;
  let dataDir: string;
  const stranger = { uid: 54_321, groups: [54_321] };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'iaw-reach-'));
    chmodSync(root, 0o755);
    mkdirSync(join(root, 'data'));
    dataDir = join(root, 'data', 'postgres');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('stops the start naming the directory the unprivileged server cannot enter, and the fix', () => {
    chmodSync(join(root, 'data'), 0o700);
    const check = () => assertServerCanReach(dataDir, stranger);
    expect(check).toThrow(`cannot enter ${join(root, 'data')} (mode 700)`);
    expect(check).toThrow(`chmod o+x ${join(root, 'data')}`);
    expect(() => assertServerCanReach(dataDir, undefined)).toThrow(`cannot enter ${join(root, 'data')}`);
  });

  it('lets the start go on when every directory above the data lets the server through', () => {
    chmodSync(join(root, 'data'), 0o711);
    expect(() => assertServerCanReach(dataDir, stranger)).not.toThrow();
    expect(() => assertServerCanReach(dataDir, undefined)).not.toThrow();
  });

  it("counts the owner's and the group's permission for the server's own directories", () => {
    chmodSync(join(root, 'data'), 0o700);
    const owner = { uid: process.getuid?.() ?? 0, groups: [] };
    expect(() => assertServerCanReach(dataDir, owner)).not.toThrow();
    chmodSync(join(root, 'data'), 0o710);
    expect(() => assertServerCanReach(dataDir, { uid: 54_321, groups: [process.getgid?.() ?? 0] })).not.toThrow();
    expect(() => assertServerCanReach(dataDir, stranger)).toThrow('(mode 710)');
  });
});
