#!/usr/bin/env node
/**
 * The tools the contract tests drive, installed once and cached under ~/.cache/intelliauth-webhooks (or
 * INTELLIAUTH_CACHE_DIR), so a second run only checks that they are there:
 * - a Python virtual environment with test/contract/requirements.txt (schemathesis, the OpenAPI validator, the
 *   Standard Webhooks library the Python receiver example uses, the Prometheus client whose parser reads /metrics),
 *   named after that file's hash;
 * - grpcurl and buf (the gRPC contract), promtool (the Prometheus config and the dashboard's queries), Docker
 *   Compose (the compose file, checked without a Docker engine) and Helm (the chart in deploy/helm, linted and
 *   rendered without a cluster), built with `go install` (all are Go modules).
 * `node tools/contract-tools.js` installs and prints them; tools/test.js calls contractTools() before jest.
 */
const { spawnSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readFileSync, renameSync, rmSync } = require('node:fs');
const { homedir } = require('node:os');
const { join } = require('node:path');

const root = join(__dirname, '..');
const cacheDir = process.env.INTELLIAUTH_CACHE_DIR || join(homedir(), '.cache', 'intelliauth-webhooks');
const REQUIREMENTS = join(root, 'test', 'contract', 'requirements.txt');
const GO_TOOLS = {
  grpcurl: 'github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4',
  buf: 'github.com/bufbuild/buf/cmd/buf@v1.75.0',
  promtool: 'github.com/prometheus/prometheus/cmd/promtool@v0.316.0',
  // v5.0.2: the newest Compose whose go.mod has no replace or exclude directive (go install refuses both). It runs
  // standalone (`docker-compose config`), no Docker engine needed.
  'docker-compose': 'github.com/docker/compose/v5/cmd@v5.0.2',
  helm: 'helm.sh/helm/v4/cmd/helm@v4.3.2',
};

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
}

function pythonVenv(say) {
  const digest = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex').slice(0, 12);
  const dir = join(cacheDir, `contract-venv-${digest}`);
  const python = join(dir, 'bin', 'python');
  // The marker is written last: a venv whose install was interrupted is built again.
  const ready = join(dir, '.installed');
  if (existsSync(ready)) return python;
  say(`creating a Python virtual environment with ${REQUIREMENTS} in ${dir}...`);
  rmSync(dir, { recursive: true, force: true });
  run('python3', ['-m', 'venv', dir]);
  run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS]);
  run(python, ['-c', `open(${JSON.stringify(ready)}, "w").close()`]);
  return python;
}

function goTool(name, say) {
  const binDir = join(cacheDir, 'bin');
  const binary = join(binDir, name);
  if (existsSync(binary)) return binary;
  say(`building ${name} once with go install ${GO_TOOLS[name]} into ${binDir}...`);
  mkdirSync(binDir, { recursive: true });
  run('go', ['install', GO_TOOLS[name]], { env: { ...process.env, GOBIN: binDir } });
  // go install names the binary after the package's last path element (Compose's is `cmd`).
  const built = join(binDir, GO_TOOLS[name].split('@')[0].split('/').pop());
  if (built !== binary) renameSync(built, binary);
  return binary;
}

/** Installs what is missing; answers the environment variables the contract tests read. */
function contractTools(say = (message) => console.log(`[contract-tools] ${message}`)) {
  const python = pythonVenv(say);
  return {
    TEST_CONTRACT_PYTHON: python,
    TEST_SCHEMATHESIS: join(python, '..', 'schemathesis'),
    TEST_GRPCURL: goTool('grpcurl', say),
    TEST_BUF: goTool('buf', say),
    TEST_PROMTOOL: goTool('promtool', say),
    TEST_DOCKER_COMPOSE: goTool('docker-compose', say),
    TEST_HELM: goTool('helm', say),
  };
}

module.exports = { contractTools };

if (require.main === module) {
  for (const [name, path] of Object.entries(contractTools())) console.log(`${name}=${path}`);
}
