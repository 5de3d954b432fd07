/**
 * The api's and the worker's side of the launcher's supervision (npm start, the bench, the fault harness), a no-op
 * when the process was started any other way: it tells the launcher through the IPC channel that it serves, and
 * shuts down gracefully (as on SIGTERM) if the launcher disappears without stopping it, instead of running on
 * unsupervised in its own process group.
 */
export const READY_MESSAGE = 'intelliauth:ready';

export function reportReadyToLauncher(): void {
  if (!process.send) return;
  let signalled = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => (signalled = true));
  // A second SIGTERM would cut the shutdown already under way short.
  process.once('disconnect', () => {
    if (!signalled) process.kill(process.pid, 'SIGTERM');
  });
  process.send(READY_MESSAGE);
  // The channel must not keep the process alive once Nest has closed everything else.
  process.channel?.unref();
}
