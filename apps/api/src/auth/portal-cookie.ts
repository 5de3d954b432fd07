/** The tenant portal's session cookie and the header every portal request adds to it. */
export const PORTAL_COOKIE = 'iaw_portal';
export const PORTAL_HEADER = 'X-IntelliAuth-Portal';

/**
 * Over https (directly, or behind a proxy TRUST_PROXY trusts) the cookie is `__Host-iaw_portal`: a browser keeps a
 * `__Host-` cookie only if it is Secure, for Path=/ and without Domain, so no other host (a sibling subdomain, a
 * plain-http page) can plant one the api would read. Plain http (local development) cannot be Secure, so there it
 * keeps the plain name.
 */
export function portalCookieName(secure: boolean): string {
  return secure ? `__Host-${PORTAL_COOKIE}` : PORTAL_COOKIE;
}

/** The portal session's secret from a Cookie header, if it has one under the name for this scheme. */
export function portalCookie(header: string | undefined, secure: boolean): string | undefined {
  const wanted = portalCookieName(secure);
  for (const pair of header?.split(';') ?? []) {
    const [name, ...value] = pair.trim().split('=');
    if (name === wanted && value.length > 0) return value.join('=');
  }
  return undefined;
}

/** Set-Cookie for a session (httpOnly, SameSite=Strict, Secure over https) or, with maxAgeSeconds 0, its removal. */
export function portalSetCookie(secret: string, maxAgeSeconds: number, secure: boolean): string {
  return `${portalCookieName(secure)}=${secret}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}
