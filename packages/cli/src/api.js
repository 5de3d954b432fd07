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
/** How long ending the tool's own portal session may hold up its exit. */
const END_TIMEOUT_MS = 5_000;

/** The portal's cookie and the header the API takes it with (a portal session counts only with both). */
const PORTAL_COOKIE = 'iaw_portal';
const PORTAL_HEADER = { 'x-intelliauth-portal': '1' };

class Api {
  /**
   * @param {string} baseUrl the API's address, e.g. http://127.0.0.1:3000
   * @param {Record<string, string>} credentials the headers that authenticate each call
   * @param {boolean} forOneTenant whether the credential acts for its own tenant only (a tenant key, a portal session)
   */
  constructor(baseUrl, credentials, forOneTenant) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.credentials = credentials;
    this.forOneTenant = forOneTenant;
    /** Whether the credential is a portal session this tool opened from a link's token (and so ends at exit). */
    this.ownsSession = false;
  }

  /**
   * With an API key: a tenant key (iaw_tk_…) acts for its own tenant, any other is a service key.
   * @param {string} baseUrl
   * @param {string} key
   */
  static withKey(baseUrl, key) {
    return new Api(baseUrl, { authorization: `Bearer ${key}` }, key.startsWith('iaw_tk_'));
  }

  /**
   * With a portal session, which the API takes only as the portal's cookie and header: either the session a browser
   * holds (its cookie's value, iaw_ps_…) or a portal link's one-time token (iaw_pt_…, or the whole link), which is
   * exchanged here for a session of the tool's own, as the portal does.
   * @param {string} baseUrl
   * @param {string} session
   */
  static async withPortalSession(baseUrl, session) {
    const token = /(?:^|#token=)(iaw_pt_[\w-]+)$/.exec(session)?.[1];
    if (token === undefined && !session.startsWith('iaw_ps_')) {
      throw new Error(
        'a portal session is a portal link (…/portal/#token=iaw_pt_…), its token, or a portal cookie value (iaw_ps_…)',
      );
    }
    const api = new Api(baseUrl, {}, true);
    if (token === undefined) {
      // Over https the API reads the cookie only under its __Host- name (the one a browser keeps).
      const name = new URL(api.baseUrl).protocol === 'https:' ? `__Host-${PORTAL_COOKIE}` : PORTAL_COOKIE;
      api.credentials = { cookie: `${name}=${session}`, ...PORTAL_HEADER };
      return api;
    }
    const exchanged = await api.send('POST', '/portal/session', { token }, { headers: PORTAL_HEADER });
    const cookie = exchanged.headers.getSetCookie()[0]?.split(';')[0];
    if (!cookie) throw new Error('the API exchanged the portal token but set no session cookie');
    api.credentials = { cookie, ...PORTAL_HEADER };
    api.ownsSession = true;
    return api;
  }

  /**
   * Ends the portal session this tool exchanged a link's token for, as the portal's sign-out does: nobody else holds
   * it, so it would otherwise stay valid until it expires. A session given as a cookie value is the browser's, and
   * stays. Best effort: the tool is exiting either way.
   */
  async endOwnSession() {
    if (!this.ownsSession) return;
    this.ownsSession = false;
    await this.send('DELETE', '/portal/session', undefined, {
      headers: this.credentials,
      timeoutMs: END_TIMEOUT_MS,
    }).catch(() => undefined);
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @param {{ timeoutMs?: number, signal?: AbortSignal }} [options]
   * @returns {Promise<any>} the answer's JSON (undefined for 204)
   */
  async call(method, path, body, options = {}) {
    return (await this.send(method, path, body, { ...options, headers: this.credentials })).json;
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} body
   * @param {{ timeoutMs?: number, signal?: AbortSignal, headers: Record<string, string> }} options
   * @returns {Promise<{ json: any, headers: Headers }>}
   */
  async send(method, path, body, options) {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? CALL_TIMEOUT_MS);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...options.headers,
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
    return { json, headers: response.headers };
  }
}

module.exports = { Api, ApiError };
