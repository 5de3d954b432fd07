/**
 * CPU and memory of the processes the bench runs, from the kernel's own accounting (/proc/<pid>/stat utime +
 * stime of a process and of the children it has reaped), never from wall time.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times; 100 on every Linux this runs on (getconf CLK_TCK). */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime + cutime + cstime, in ticks. */
  treeTicks: number;
  ownTicks: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited between the listing and the read
  }
  // comm may hold spaces and parentheses: the fields after it start after the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17, ppid 4.
  const [utime, stime, cutime, cstime] = [fields[11], fields[12], fields[13], fields[14]].map(Number);
  return { pid, ppid: Number(fields[1]), comm, ownTicks: utime + stime, treeTicks: utime + stime + cutime + cstime };
}

function allProcesses(): ProcStat[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readStat(Number(name)))
    .filter((stat): stat is ProcStat => stat !== undefined);
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** The direct children of `parent` whose command line matches. */
export function childrenMatching(parent: number, pattern: RegExp): number[] {
  return allProcesses()
    .filter((stat) => stat.ppid === parent && pattern.test(commandLine(stat.pid)))
    .map((stat) => stat.pid);
}

/** A process and all its descendants, from one listing of /proc. */
function treeOf(root: number, processes: ProcStat[]): ProcStat[] {
  const inTree = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const stat of processes) {
      if (!inTree.has(stat.pid) && inTree.has(stat.ppid)) {
        inTree.add(stat.pid);
        grew = true;
      }
    }
  }
  return processes.filter((stat) => inTree.has(stat.pid));
}

/**
 * CPU milliseconds a process and all its descendants have used, the exited ones included (reaped children are in
 * their parent's cutime/cstime). Compare two readings to get the CPU a run cost.
 */
export function treeCpuMs(root: number): number {
  const ticks = treeOf(root, allProcesses()).reduce((sum, stat) => sum + stat.treeTicks, 0);
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** CPU milliseconds of this process alone (not of the servers it started). */
export function ownCpuMs(pid = process.pid): number {
  return ((readStat(pid)?.ownTicks ?? NaN) * 1000) / TICKS_PER_SECOND;
}

/**
 * Proportional memory of one process, in MiB (NaN once it has exited): its private pages plus its share of pages it
 * shares, so the processes of a server that share memory (Postgres's backends and its shared buffers) add up to
 * what they hold together.
 */
function pssMiB(pid: number): number {
  try {
    const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match ? Number(match[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Proportional memory of a process and all its descendants, in MiB: a server of many processes (Postgres's
 * postmaster and its backends) counted once, whatever they share.
 */
export function treePssMiB(root: number): number {
  return treeOf(root, allProcesses()).reduce((sum, stat) => sum + (pssMiB(stat.pid) || 0), 0);
}
