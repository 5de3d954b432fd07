import { setTimeout as sleep } from 'node:timers/promises';

/** What no probe may answer as "done": a probe that found nothing must not pass for one that found 0 or ''. */
type Nothing = null | undefined | false | 0 | '';

interface Polling {
  /** How long to keep probing, in ms. */
  timeout: number;
  /** Between probes, in ms. */
  interval?: number;
  /** What is awaited, for the timeout's message. */
  description: string;
}

/**
 * Probes until it answers something truthy, and answers that; a probe that throws ends the wait with its error
 * (a process that exited while waited on). A value that may legitimately be falsy (a count of 0, an empty string)
 * is awaited with `until`, which alone decides: the probe's value is then answered as it is.
 */
export function eventually<T>(
  probe: () => T | Promise<T>,
  options: Polling & { until: (value: T) => boolean },
): Promise<T>;
export function eventually<T>(probe: () => T | Promise<T>, options: Polling): Promise<Exclude<T, Nothing>>;
export async function eventually<T>(
  probe: () => T | Promise<T>,
  options: Polling & { until?: (value: T) => boolean },
): Promise<T> {
  const { timeout, interval = 100, description, until = Boolean } = options;
  const deadline = Date.now() + timeout;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (until(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeout} ms waiting for ${description} (last probe answered ${String(last)})`);
    await sleep(interval);
  }
}
