import { ChildProcess, spawn, SpawnOptions } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

/** A process the launcher started and can stop: `child` is undefined only when someone else spawned it (the SDK). */
export interface RunningProcess {
  child: ChildProcess | undefined;
  /** Asks the process to stop, waits for it to exit, and kills its whole process group if it takes too long. */
  stop(): Promise<void>;
}

/**
 * Spawns `command` as the leader of a process group (and session) of its own, so a terminal's Ctrl-C, which
 * signals the whole foreground process group, reaches the launcher alone: the launcher decides the order in
 * which the parts stop. `sessionNice` lowers that session's CPU priority (see lowerSessionPriority).
 */
export function spawnDetached(
  command: string,
  args: string[],
  { sessionNice, ...options }: Omit<SpawnOptions, 'detached'> & { sessionNice?: number } = {},
): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options, detached: true });
  if (sessionNice !== undefined && child.pid !== undefined) lowerSessionPriority(child.pid, sessionNice);
  return child;
}

/**
 * Gives a detached child's session a lower CPU weight (nice 1-19). Linux's scheduler autogroup, on by default,
 * shares the CPU equally between sessions whatever their threads' nice, so on a saturated box a plain `nice` on
 * the child changes nothing; the session's own nice, /proc/<pid>/autogroup, does. Where there is no autogroup
 * (another OS, or the feature off) the child keeps the default weight.
 */
function lowerSessionPriority(pid: number, nice: number): void {
  const groupOf = (path: string) => readFileSync(path, 'utf8').split(' ')[0];
  try {
    // spawn returns after the child's exec, so it leads its own session by now; never renice the launcher's.
    if (groupOf(`/proc/${pid}/autogroup`) === groupOf('/proc/self/autogroup')) return;
    writeFileSync(`/proc/${pid}/autogroup`, String(nice));
  } catch {
    // No autogroup here: nothing to lower.
  }
}

/** "exit code 1", "signal SIGKILL": how a process ended, for the logs. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves with how the process ended (at once if it already has). */
export function exitOf(child: ChildProcess): Promise<string> {
  if (hasExited(child)) return Promise.resolve(describeExit(child.exitCode, child.signalCode));
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(describeExit(code, signal))));
}

const stopping = new WeakMap<ChildProcess, Promise<void>>();

/**
 * Sends `signal` to the process and waits for it to exit; after `timeoutMs` the whole process group is killed
 * (SIGKILL), so a stop always ends. Asking twice sends the signal once (a second SIGTERM would cut a Nest
 * application's graceful shutdown short).
 */
export function stopProcess(child: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  let stopped = stopping.get(child);
  if (!stopped) {
    stopped = signalAndWait(child, signal, timeoutMs);
    stopping.set(child, stopped);
  }
  return stopped;
}

async function signalAndWait(child: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (hasExited(child)) return;
  const exited = exitOf(child);
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
  if ((await Promise.race([exited, late])) === 'late') killGroup(child);
  clearTimeout(timer);
  await exited;
}

/** SIGKILL to the process group the child leads (it and anything it started), ignoring a group already gone. */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || hasExited(child)) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/** The last lines a process printed, to show when it dies while starting or exits by itself. */
export class OutputTail {
  private readonly lines: string[] = [];

  constructor(private readonly size = 30) {}

  push(text: string): void {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      this.lines.push(line);
      if (this.lines.length > this.size) this.lines.shift();
    }
  }

  toString(): string {
    return this.lines.join('\n');
  }
}

/** Sends each chunk of the child's stdout and stderr to `onText`. */
export function readOutput(child: ChildProcess, onText: (text: string) => void): void {
  child.stdout?.on('data', (chunk: Buffer) => onText(chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => onText(chunk.toString('utf8')));
}

/** Resolves once all the child printed has been read (its stdout and stderr closed), or after `timeoutMs`. */
function outputClosed(child: ChildProcess, timeoutMs: number): Promise<void> {
  const open = [child.stdout, child.stderr].filter((stream) => stream !== null && !stream.closed);
  if (open.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    let left = open.length;
    for (const stream of open)
      stream!.once('close', () => {
        if (--left > 0) return;
        clearTimeout(timer);
        resolve();
      });
  });
}

/** A part that did not come up: the message names it, why, and its last output (no stack trace is needed to act). */
export class PartStartError extends Error {
  override readonly name = 'PartStartError';
}

/**
 * Polls `probe` every 200 ms until it answers true; rejects with a PartStartError if the child exits first (naming
 * how, with its last output) or after `timeoutMs`. The launcher's start fails with it: no banner, everything stopped.
 */
export async function untilServing(
  child: ChildProcess,
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  tail?: OutputTail,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const withOutput = (message: string) => (tail && tail.toString() ? `${message}; its last output:\n${tail}` : message);
  for (;;) {
    if (hasExited(child)) {
      // Its last words (the api's "failed to start: listen EADDRINUSE...") may still sit in the pipe after the exit.
      await outputClosed(child, 2_000);
      throw new PartStartError(
        withOutput(`${what} exited while starting (${describeExit(child.exitCode, child.signalCode)})`),
      );
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new PartStartError(withOutput(`${what} did not answer within ${timeoutMs / 1000} s`));
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
