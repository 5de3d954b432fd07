import { treeCpuMs, treePssMiB } from '../bench/process-stats';

export interface PartUsage {
  cpuMs: number;
  /** The most memory (PSS) one process of the part held, with its children. */
  peakPssMiB: number;
  /** The most memory (PSS) the part's processes held together at one sample. */
  peakTotalPssMiB: number;
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
      const usage = this.usage.get(part) ?? { cpuMs: 0, peakPssMiB: 0, peakTotalPssMiB: 0 };
      let total = 0;
      for (const root of roots) {
        // The tree's CPU includes children already reaped (Postgres's backends of closed connections).
        const cpu = treeCpuMs(root);
        const previous = this.lastCpu.get(root);
        if (previous !== undefined && cpu >= previous) usage.cpuMs += cpu - previous;
        if (!Number.isNaN(cpu)) this.lastCpu.set(root, cpu);
        const memory = treePssMiB(root);
        usage.peakPssMiB = Math.max(usage.peakPssMiB, memory);
        total += memory;
      }
      usage.peakTotalPssMiB = Math.max(usage.peakTotalPssMiB, total);
      this.usage.set(part, usage);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}
