// @ts-check
/** The IntelliAuth Webhooks REST API, as the tool uses it: JSON in and out, every call bounded in time. */

/** A call the API refused: its status, machine-readable code and message. */
class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** How long a call other than a poll may take. */
const CALL_TIMEOUT_MS = 30_000;

class Api {
  /**
   * @param {string} baseUrl the API's address, e.g. http://127.0.0.1:3000
   * @param {string} key a tenant key (iaw_tk_…) or a service key
   */
  constructor(baseUrl, key) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.key = key;
  }

  /** A tenant key acts for its own tenant only; any other key is a service key. */
  get isTenantKey() {
    return this.key.startsWith('iaw_tk_');
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @param {{ timeoutMs?: number, signal?: AbortSignal }} [options]
   * @returns {Promise<any>} the answer's JSON (undefined for 204)
   */
  async call(method, path, body, options = {}) {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? CALL_TIMEOUT_MS);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    const text = await response.text();
    const json = text === '' ? undefined : JSON.parse(text);
    if (!response.ok) {
      const error = json?.error ?? {};
      throw new ApiError(
        response.status,
        error.code ?? 'unknown',
        error.message ?? `the API answered ${response.status}`,
      );
    }
    return json;
  }
}

module.exports = { Api, ApiError };
