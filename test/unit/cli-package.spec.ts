import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '../..');
const cli = join(root, 'packages/cli');
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('the command-line tool as a package', () => {
  it('packs on its own: its binary, its sources, its README and its one dependency', () => {
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: cli, encoding: 'utf8' }));
    const files = pack.files.map((file: { path: string }) => file.path).sort();
    expect(files).toEqual([
      'README.md',
      'bin/intelliauth-webhooks.js',
      'package.json',
      'src/api.js',
      'src/cli.js',
      'src/forward.js',
      'src/listen.js',
      'src/trigger.js',
    ]);
    const manifest = readJson(join(cli, 'package.json'));
    expect(manifest.bin).toEqual({ 'intelliauth-webhooks': 'bin/intelliauth-webhooks.js' });
    // The clone runs it with the root's installed copy: the same version as the package asks for.
    expect(readJson(join(root, 'package.json')).devDependencies.commander).toBe(manifest.dependencies.commander);
  });

  it("runs from a clone as the root package's binary", () => {
    const bin = readJson(join(root, 'package.json')).bin['intelliauth-webhooks'];
    expect(bin).toBe('packages/cli/bin/intelliauth-webhooks.js');
    const help = spawnSync(process.execPath, [join(root, bin), '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^\s+listen \[options\]/m);
    expect(help.stdout).toMatch(/^\s+trigger \[options\] <event-type>/m);
  });

  it('says how to name the API when neither option nor variable does', () => {
    const env = {
      ...process.env,
      INTELLIAUTH_WEBHOOKS_URL: '',
      INTELLIAUTH_WEBHOOKS_KEY: '',
      INTELLIAUTH_WEBHOOKS_PORTAL_SESSION: '',
    };
    const run = spawnSync(process.execPath, [join(cli, 'bin/intelliauth-webhooks.js'), 'trigger', 'user.signed_up'], {
      encoding: 'utf8',
      env,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      'intelliauth-webhooks: the API is named by --api-url (INTELLIAUTH_WEBHOOKS_URL), the credential by --api-key ' +
        '(INTELLIAUTH_WEBHOOKS_KEY) or --portal-session (INTELLIAUTH_WEBHOOKS_PORTAL_SESSION)\n',
    );
  });

  it('says what a portal session looks like when given something else, before calling the API', () => {
    const run = spawnSync(
      process.execPath,
      [
        join(cli, 'bin/intelliauth-webhooks.js'),
        '--api-url',
        'http://127.0.0.1:9',
        '--portal-session',
        'iaw_tk_x',
        'trigger',
        'user.signed_up',
      ],
      { encoding: 'utf8', env: { ...process.env, INTELLIAUTH_WEBHOOKS_KEY: '' } },
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      'intelliauth-webhooks: a portal session is a portal link (…/portal/#token=iaw_pt_…), its token, or a portal ' +
        'cookie value (iaw_ps_…)\n',
    );
  });
});
