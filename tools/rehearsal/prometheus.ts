import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { projectRoot } from '../../libs/config/project-root';
import { freePort } from '../embedded/free-port';
import { ManagedProcess } from './managed-process';

interface ScrapeConfig {
  job_name: string;
  dns_sd_configs?: { names: string[]; port: number }[];
  static_configs?: { targets: string[] }[];
}

/**
 * Compose's prometheus.yml with each job's DNS discovery (one name per compose service, answered with every
 * replica's address) replaced by the local replicas' `host:port`, and a shorter scrape interval so a run of minutes
 * has enough samples for every rate().
 */
export function localPrometheusConfig(targets: Record<string, string[]>, scrapeInterval = '5s'): string {
  const config = parse(readFileSync(join(projectRoot(), 'docker', 'prometheus', 'prometheus.yml'), 'utf8')) as {
    global: Record<string, string>;
    scrape_configs: ScrapeConfig[];
  };
  config.global = { ...config.global, scrape_interval: scrapeInterval, evaluation_interval: scrapeInterval };
  config.scrape_configs = config.scrape_configs.map(({ dns_sd_configs, ...job }) => {
    const local = targets[job.job_name];
    if (!local) throw new Error(`the rehearsal runs nothing for Prometheus's job ${job.job_name}`);
    if (!dns_sd_configs) throw new Error(`Prometheus's job ${job.job_name} finds its targets by other means than DNS`);
    return { ...job, static_configs: [{ targets: local }] };
  });
  return stringify(config);
}

export interface RunningPrometheus {
  process: ManagedProcess;
  url: string;
}

export async function prometheus(
  binary: string,
  targets: Record<string, string[]>,
  dir: string,
  logDir: string,
): Promise<RunningPrometheus> {
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, localPrometheusConfig(targets));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const process = new ManagedProcess(
    {
      name: 'prometheus',
      command: binary,
      args: [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      env: { PATH: globalThis.process.env.PATH },
      ready: async () => (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) })).ok,
      startTimeoutMs: 60_000,
      stopSignal: 'SIGTERM',
      stopTimeoutMs: 15_000,
    },
    join(logDir, 'prometheus.log'),
  );
  return { process, url };
}

interface RangeResult {
  status: string;
  error?: string;
  data?: { result: { metric: Record<string, string>; values: [number, string][] }[] };
}

/** How many series of `query` had at least one real number (not NaN) between `start` and `end`. */
export async function seriesWithData(url: string, query: string, start: number, end: number): Promise<number> {
  const params = new URLSearchParams({
    query,
    start: String(start / 1000),
    end: String(end / 1000),
    step: '5',
  });
  const response = await fetch(`${url}/api/v1/query_range?${params}`, { signal: AbortSignal.timeout(30_000) });
  const body = (await response.json()) as RangeResult;
  if (body.status !== 'success') throw new Error(`Prometheus refused ${query}: ${body.error}`);
  return body.data!.result.filter((series) => series.values.some(([, value]) => !Number.isNaN(Number(value)))).length;
}
