import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * Finds or builds, once, the two Temporal servers the project runs: the `temporal` CLI (dev server) and the
 * Java time-skipping test server. Both are cached outside the repo; undefined means "let the SDK download it".
 */
export const TOOLCHAIN_CACHE_DIR =
  process.env.INTELLIAUTH_CACHE_DIR || join(homedir(), '.cache', 'intelliauth-webhooks');

/** The newest CLI tag whose go.mod has no replace directive, which `go install pkg@version` requires. */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';
export const TEST_SERVER_ARTIFACT = { groupId: 'io.temporal', artifactId: 'temporal-test-server', version: '1.38.0' };

type Say = (message: string) => void;

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, command);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function temporalCliPath(configured: string | undefined, say: Say): string | undefined {
  if (configured) {
    if (!existsSync(configured)) throw new Error(`TEMPORAL_CLI_PATH: ${configured} does not exist`);
    return configured;
  }
  const fromPath = onPath('temporal');
  if (fromPath) return fromPath;
  const cached = join(TOOLCHAIN_CACHE_DIR, 'bin', 'temporal');
  if (existsSync(cached)) return cached;
  if (!onPath('go')) {
    say('temporal CLI not found and Go is not installed: the Temporal SDK will download the dev server');
    return undefined;
  }
  return goInstalled([TEMPORAL_CLI_MODULE], join(TOOLCHAIN_CACHE_DIR, 'bin'), say)[0];
}

/**
 * The binaries of `modules` (each `package@version`, one binary per package, named after its last path element),
 * built once with `go install` into `binDir` and found there afterwards.
 */
export function goInstalled(modules: string[], binDir: string, say: Say): string[] {
  const binaries = modules.map((module) => join(binDir, module.split('@')[0].split('/').pop()!));
  const missing = modules.filter((_, i) => !existsSync(binaries[i]));
  if (missing.length === 0) return binaries;
  if (!onPath('go')) throw new Error(`Go is needed to build ${missing.join(' ')} once; install it (go.dev/dl)`);
  say(`building ${missing.join(' ')} once with go install into ${binDir} (a few minutes)...`);
  mkdirSync(binDir, { recursive: true });
  const build = spawnSync('go', ['install', ...missing], { env: { ...process.env, GOBIN: binDir }, stdio: 'inherit' });
  const absent = binaries.filter((binary) => !existsSync(binary));
  if (build.status !== 0 || absent.length > 0)
    throw new Error(`go install ${missing.join(' ')} failed (exit ${build.status}; missing ${absent.join(', ')})`);
  return binaries;
}

export function timeSkippingServerPath(say: Say): string | undefined {
  if (process.env.TEMPORAL_TEST_SERVER_PATH) return process.env.TEMPORAL_TEST_SERVER_PATH;
  // The suffix names the launcher's shape: bump it when the launcher changes, so caches are rebuilt.
  const dir = join(TOOLCHAIN_CACHE_DIR, `test-server-${TEST_SERVER_ARTIFACT.version}-l2`);
  const launcher = join(dir, 'temporal-test-server');
  if (existsSync(launcher)) return launcher;
  if (!onPath('mvn') || !onPath('java')) {
    say('Maven or Java missing: the Temporal SDK will download the time-skipping test server');
    return undefined;
  }
  say(
    `resolving ${TEST_SERVER_ARTIFACT.groupId}:${TEST_SERVER_ARTIFACT.artifactId}:${TEST_SERVER_ARTIFACT.version} from Maven Central into ${dir}...`,
  );
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.intelliauth</groupId><artifactId>temporal-test-server-launcher</artifactId><version>1</version>
  <dependencies><dependency>
    <groupId>${TEST_SERVER_ARTIFACT.groupId}</groupId><artifactId>${TEST_SERVER_ARTIFACT.artifactId}</artifactId><version>${TEST_SERVER_ARTIFACT.version}</version>
  </dependency></dependencies>
</project>
`,
  );
  const classpathFile = join(dir, 'classpath.txt');
  execFileSync(
    'mvn',
    ['-q', '-B', '-f', join(dir, 'pom.xml'), 'dependency:build-classpath', `-Dmdep.outputFile=${classpathFile}`],
    {
      stdio: 'inherit',
    },
  );
  const classpath = readFileSync(classpathFile, 'utf8').trim();
  if (!classpath) throw new Error('Maven resolved an empty classpath for the Temporal test server');
  // The SDK starts an existing-path test server as `<launcher> <port> --enable-time-skipping`.
  // The SDK gives the server 5 s to answer; C1-only JIT and the serial GC start the JVM fastest on a busy machine.
  writeFileSync(
    launcher,
    `#!/bin/sh\nexec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss512k -cp '${classpath}' io.temporal.testserver.TestServer "$@"\n`,
  );
  chmodSync(launcher, 0o755);
  return launcher;
}
