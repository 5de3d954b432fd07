import { join } from 'node:path';
import { goInstalled, TOOLCHAIN_CACHE_DIR } from '../embedded/toolchain';

/**
 * The Temporal release production runs: the rehearsal builds its server and SQL tool from the Go module, compose
 * and the Helm chart's notes name the same release's images (a test holds them together).
 */
export const TEMPORAL_SERVER_VERSION = '1.31.2';
/** The same Prometheus release as compose's image and the promtool the tests check its config with. */
export const PROMETHEUS_VERSION = '3.16.0';

type Say = (message: string) => void;

export interface TemporalServerBinaries {
  server: string;
  sqlTool: string;
}

export function temporalServerBinaries(say: Say): TemporalServerBinaries {
  const [server, sqlTool] = goInstalled(
    ['server', 'tools/sql'].map((cmd) => `go.temporal.io/server/cmd/${cmd}@v${TEMPORAL_SERVER_VERSION}`),
    join(TOOLCHAIN_CACHE_DIR, `temporal-server-${TEMPORAL_SERVER_VERSION}`),
    say,
  );
  return { server, sqlTool };
}

/** Prometheus's Go module numbers its releases v0.<minor*100+...>: 3.16.0 is v0.316.0. */
export function prometheusBinary(say: Say): string {
  const [major, minor, patch] = PROMETHEUS_VERSION.split('.').map(Number);
  const module = `github.com/prometheus/prometheus/cmd/prometheus@v0.${major * 100 + minor}.${patch}`;
  return goInstalled([module], join(TOOLCHAIN_CACHE_DIR, `prometheus-${PROMETHEUS_VERSION}`), say)[0];
}
