/**
 * The api's and the worker's side of the launcher's supervision (npm start, the bench, the fault harness), a no-op
 * when the process was started any other way: it tells the launcher through the IPC channel that it serves, and
 * shuts down gracefully (as on SIGTERM) if the launcher disappears without stopping it, instead of running on
 * unsupervised in its own process group. The launcher tells the api how the worker is doing, for its /readyz.
 */
export const READY_MESSAGE = 'intelliauth:ready';

/** The launcher's word on a part it supervises: `check` is 'ok' while it runs, else what it is doing instead. */
export interface PartCheckMessage {
  type: 'intelliauth:part-check';
  part: string;
  check: string;
}

const partChecks: Record<string, string> = {};

/** What the launcher last said about the parts it supervises beside this process; empty without a launcher. */
export function launcherPartChecks(): Readonly<Record<string, string>> {
  return partChecks;
}

function isPartCheck(message: unknown): message is PartCheckMessage {
  const candidate = message as Partial<PartCheckMessage> | null;
  return (
    candidate?.type === 'intelliauth:part-check' &&
    typeof candidate.part === 'string' &&
    typeof candidate.check === 'string'
  );
}

export function reportReadyToLauncher(): void {
  if (!process.send) return;
  let signalled = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => (signalled = true));
  // A second SIGTERM would cut the shutdown already under way short.
  process.once('disconnect', () => {
    if (!signalled) process.kill(process.pid, 'SIGTERM');
  });
  // Listening before saying ready: the launcher sends the current checks as soon as it hears it.
  process.on('message', (message) => {
    if (isPartCheck(message)) partChecks[message.part] = message.check;
  });
  process.send(READY_MESSAGE);
  // The channel must not keep the process alive once Nest has closed everything else.
  process.channel?.unref();
}
