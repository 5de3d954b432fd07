import { childrenMatching, rssMiB, treeCpuMs } from '../bench/process-stats';

export interface PartUsage {
  cpuMs: number;
  /** The largest resident set one process of the part had. */
  peakRssMiB: number;
  /** The largest sum of the part's processes' resident sets at one sample. */
  peakTotalRssMiB: number;
}

/**
 * CPU and memory per part of the topology from the kernel's accounting, sampled every few seconds: a process's CPU
 * since the previous sample is added to its part (so a restart, which changes the pid, loses at most one interval).
 */
export class ResourceSampler {
  private readonly lastCpu = new Map<number, number>();
  readonly usage = new Map<string, PartUsage>();
  private timer?: NodeJS.Timeout;

  /** `parts()` names the pids of each part now (Postgres: the postmaster, whose backends are counted with it). */
  constructor(private readonly parts: () => Record<string, number[]>) {}

  start(intervalMs = 3_000): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    for (const [part, roots] of Object.entries(this.parts())) {
      const usage = this.usage.get(part) ?? { cpuMs: 0, peakRssMiB: 0, peakTotalRssMiB: 0 };
      let total = 0;
      for (const root of roots) {
        // The tree's CPU includes children already reaped (Postgres's backends of closed connections).
        const cpu = treeCpuMs(root);
        const previous = this.lastCpu.get(root);
        if (previous !== undefined && cpu >= previous) usage.cpuMs += cpu - previous;
        if (!Number.isNaN(cpu)) this.lastCpu.set(root, cpu);
        const rss = [root, ...childrenMatching(root, /./)].reduce((sum, pid) => sum + (rssMiB(pid) || 0), 0);
        usage.peakRssMiB = Math.max(usage.peakRssMiB, rss);
        total += rss;
      }
      usage.peakTotalRssMiB = Math.max(usage.peakTotalRssMiB, total);
      this.usage.set(part, usage);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}
