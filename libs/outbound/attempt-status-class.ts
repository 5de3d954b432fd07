/** What kept a receiver's response from arriving, in a word. */
export type NetworkFailure = 'timeout' | 'refused' | 'ssrf_refused' | 'network';

/** An attempt's outcome in one bounded word (a metrics label): the status class of the answer, or why there was none. */
export type AttemptStatusClass = '2xx' | 'redirect' | '4xx' | '5xx' | 'other' | NetworkFailure;

export function attemptStatusClass(
  statusCode: number | null,
  networkFailure: NetworkFailure | null,
): AttemptStatusClass {
  if (statusCode === null) return networkFailure ?? 'network';
  if (statusCode >= 200 && statusCode < 300) return '2xx';
  if (statusCode >= 300 && statusCode < 400) return 'redirect';
  if (statusCode >= 400 && statusCode < 500) return '4xx';
  if (statusCode >= 500 && statusCode < 600) return '5xx';
  return 'other';
}
