import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);

interface NestProject {
  sourceRoot: string;
  entryFile: string;
  compilerOptions: { tsConfigPath: string };
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as T;
const { projects } = readJson<{ projects: Record<string, NestProject> }>('nest-cli.json');
const { scripts } = readJson<{ scripts: Record<string, string> }>('package.json');

/** The compiled scripts under a build's output folder, as paths relative to it. */
function emittedScripts(outDir: string): string[] {
  return readdirSync(outDir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.js'))
    .map((file) => file.split(sep).join('/'))
    .sort();
}

/**
 * Both builds go to a temporary folder, not dist/, which other suites may be reading. Type checking is left out: it
 * does not change what is emitted, and `tsc --noEmit` already does it.
 */
describe('`nest build <project>` lays out dist/ as `npm run build` (tsc -p tsconfig.build.json) does', () => {
  let out: string;

  /** The project's own tsconfig with the output moved; `--path` is read relative to the working folder. */
  async function nestBuild(name: string): Promise<void> {
    const tsconfig = join(out, `tsconfig.${name}.json`);
    const compilerOptions = { outDir: join(out, name), typeRoots: [join(ROOT, 'node_modules/@types')], noCheck: true };
    writeFileSync(
      tsconfig,
      JSON.stringify({ extends: join(ROOT, projects[name].compilerOptions.tsConfigPath), compilerOptions }),
    );
    await run(
      process.execPath,
      [require.resolve('@nestjs/cli/bin/nest.js'), 'build', name, '--path', relative(ROOT, tsconfig)],
      {
        cwd: ROOT,
      },
    );
  }

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'iaw-nest-build-'));
    const tsc = [
      require.resolve('typescript/bin/tsc'),
      '-p',
      'tsconfig.build.json',
      '--outDir',
      join(out, 'tsc'),
      '--noCheck',
    ];
    await Promise.all([run(process.execPath, tsc, { cwd: ROOT }), ...Object.keys(projects).map(nestBuild)]);
  }, 300_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('has the two deployed processes as projects', () => {
    expect(Object.keys(projects).sort()).toEqual(['api', 'worker']);
  });

  it.each(['api', 'worker'])('%s: every compiled file is the one tsc writes, at the same path', (name) => {
    const built = emittedScripts(join(out, name));
    expect(built).toContain(`${projects[name].sourceRoot}/${projects[name].entryFile}.js`);
    expect(emittedScripts(join(out, 'tsc'))).toEqual(expect.arrayContaining(built));
    for (const file of built) {
      expect([file, readFileSync(join(out, name, file), 'utf8')]).toEqual([
        file,
        readFileSync(join(out, 'tsc', file), 'utf8'),
      ]);
    }
  });

  it.each(['api', 'worker'])('%s: `nest start` runs the file its npm start script runs', (name) => {
    const entry = `${projects[name].sourceRoot}/${projects[name].entryFile}.js`;
    expect(scripts[`start:${name}`]).toBe(`node dist/${entry}`);
    expect(emittedScripts(join(out, 'tsc'))).toContain(entry);
  });

  it('worker: holds the compiled workflow code it bundles at start', () => {
    const workflows = emittedScripts(join(out, 'tsc')).filter((file) => file.startsWith('workflows/'));
    expect(workflows).toContain('workflows/index.js');
    expect(emittedScripts(join(out, 'worker'))).toEqual(expect.arrayContaining(workflows));
  });
});
