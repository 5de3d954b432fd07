// @ts-check
const http = require('node:http');
const https = require('node:https');

/** The answer's first bytes are reported back, as the product keeps them. */
const EXCERPT_BYTES = 1024;

/**
 * @typedef {object} LocalAnswer
 * @property {number | null} status_code null when no answer came (refused, timed out)
 * @property {number} duration_ms
 * @property {string | null} error
 * @property {string | null} response_excerpt
 * @property {string | null} retry_after
 */

/**
 * POSTs a delivery to the local receiver as the product would: these headers and this body, nothing added but
 * Host, Content-Length and Connection, no redirect followed, one time budget for the whole answer.
 * @param {string} url
 * @param {Record<string, string>} headers
 * @param {string} body
 * @param {number} timeoutMs
 * @returns {Promise<LocalAnswer>}
 */
function forward(url, headers, body, timeoutMs) {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const bytes = Buffer.from(body, 'utf8');
  const target = new URL(url);
  const send = target.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve) => {
    /** @param {string} error */
    const failed = (error) =>
      resolve({ status_code: null, duration_ms: elapsed(), error, response_excerpt: null, retry_after: null });
    const request = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(bytes.length) },
        signal: AbortSignal.timeout(Math.max(1, timeoutMs)),
      },
      (response) => {
        /** @type {Buffer[]} */
        const kept = [];
        let keptBytes = 0;
        response.on('data', (/** @type {Buffer} */ chunk) => {
          if (keptBytes < EXCERPT_BYTES) {
            kept.push(chunk.subarray(0, EXCERPT_BYTES - keptBytes));
            keptBytes += Math.min(chunk.length, EXCERPT_BYTES - keptBytes);
          }
        });
        response.on('end', () => {
          const retryAfter = response.headers['retry-after'];
          resolve({
            status_code: response.statusCode ?? null,
            duration_ms: elapsed(),
            error: null,
            response_excerpt: keptBytes === 0 ? null : Buffer.concat(kept).toString('utf8'),
            retry_after: typeof retryAfter === 'string' ? retryAfter.slice(0, 100) : null,
          });
        });
        response.on('error', () => failed(`no complete response within ${timeoutMs} ms`));
      },
    );
    request.on('error', (/** @type {NodeJS.ErrnoException} */ error) => {
      if (error.name === 'AbortError' || error.name === 'TimeoutError')
        failed(`no complete response within ${timeoutMs} ms`);
      else if (error.code === 'ECONNREFUSED') failed('connection refused');
      else failed(`request failed: ${error.message}`.slice(0, 300));
    });
    request.end(bytes);
  });
}

module.exports = { forward };
