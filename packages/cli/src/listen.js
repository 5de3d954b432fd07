// @ts-check
const { ApiError } = require('./api');
const { forward } = require('./forward');

/** What a poll asks the API to wait for a first request; the API may wait less (half the session's TTL). */
const POLL_WAIT_SECONDS = 20;
/** Beyond the poll's own wait, how long its answer may take to arrive. */
const POLL_MARGIN_MS = 10_000;
/** Kept from each delivery's time budget for the answer to reach the API before the attempt stops waiting. */
const ANSWER_MARGIN_MS = 250;
/** After a failed poll (the API restarting, the network down), the waits before the next one. */
const RETRY_DELAYS_MS = [500, 1_000, 2_000, 5_000];

/**
 * @param {Date} at
 * @param {Record<string, string>} headers
 * @param {import('./forward').LocalAnswer} answer
 */
function deliveryLine(at, headers, answer) {
  const outcome = answer.status_code === null ? `no answer (${answer.error})` : String(answer.status_code);
  return [
    at.toISOString(),
    headers['x-intelliauth-event-type'] ?? '?',
    headers['webhook-id'] ?? '?',
    `attempt ${headers['x-intelliauth-delivery-attempt'] ?? '?'}`,
    outcome,
    `${answer.duration_ms} ms`,
  ].join('  ');
}

/**
 * Opens a listen session, forwards every delivery it is handed to `forwardTo` and reports each answer, until
 * stopped (Ctrl-C, SIGTERM), when it ends the session. Resolves with the process's exit code.
 * @param {import('./api').Api} api
 * @param {{ forwardTo: string, events: string[], tenant?: string }} options
 * @param {{ out: (line: string) => void, err: (line: string) => void }} print
 * @returns {Promise<number>}
 */
async function listen(api, options, print) {
  const session = await api.call('POST', '/v1/listen-sessions', {
    ...(options.tenant === undefined ? {} : { tenant_id: options.tenant }),
    event_types: options.events,
    forward_to: options.forwardTo,
  });
  print.out(`Listen session ${session.id} for tenant ${session.tenant_id}: ${session.event_types.join(', ')}`);
  print.out(`Forwarding to ${options.forwardTo}`);
  print.out(`Signing secret (verify the deliveries with it; valid for this session only): ${session.secret}`);
  print.out(`Ctrl-C ends the session (left alone, it ends ${session.ttl_seconds} s after this tool stops).`);

  const stopping = new AbortController();
  const stop = () => stopping.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  /** @type {Set<Promise<void>>} */
  const forwarding = new Set();

  /** @param {{ id: string, headers: Record<string, string>, body: string, expires_at: string }} request */
  async function handle(request) {
    const at = new Date();
    const budget = Date.parse(request.expires_at) - Date.now() - ANSWER_MARGIN_MS;
    const answer = await forward(options.forwardTo, request.headers, request.body, budget);
    print.out(deliveryLine(at, request.headers, answer));
    try {
      const { recorded } = await api.call(
        'POST',
        `/v1/listen-sessions/${session.id}/requests/${request.id}/answer`,
        answer,
      );
      if (!recorded) print.err(`  (answered too late: the attempt had already timed out)`);
    } catch (error) {
      print.err(`  could not report the answer: ${/** @type {Error} */ (error).message}`);
    }
  }

  let code = 0;
  let failures = 0;
  while (!stopping.signal.aborted) {
    try {
      const { requests } = await api.call(
        'GET',
        `/v1/listen-sessions/${session.id}/requests?wait_seconds=${POLL_WAIT_SECONDS}`,
        undefined,
        { timeoutMs: POLL_WAIT_SECONDS * 1000 + POLL_MARGIN_MS, signal: stopping.signal },
      );
      failures = 0;
      for (const request of requests) {
        const done = handle(request).finally(() => forwarding.delete(done));
        forwarding.add(done);
      }
    } catch (error) {
      if (stopping.signal.aborted) break;
      if (error instanceof ApiError && error.status < 500) {
        print.err(`The listen session ended: ${error.message}`);
        code = 1;
        break;
      }
      const delay = RETRY_DELAYS_MS[Math.min(failures++, RETRY_DELAYS_MS.length - 1)];
      print.err(`Polling failed (${/** @type {Error} */ (error).message}); again in ${delay} ms`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
  process.removeListener('SIGINT', stop);
  process.removeListener('SIGTERM', stop);
  await Promise.all(forwarding);
  if (code === 0) {
    await api.call('DELETE', `/v1/listen-sessions/${session.id}`).catch((/** @type {Error} */ error) => {
      print.err(`Could not end the session (it ends by itself after ${session.ttl_seconds} s): ${error.message}`);
    });
    print.out(`Listen session ${session.id} ended.`);
  }
  return code;
}

module.exports = { listen };
