/** The tenant portal's session cookie and the header every portal request adds to it. */
export const PORTAL_COOKIE = 'iaw_portal';
export const PORTAL_HEADER = 'X-IntelliAuth-Portal';

/** The portal session's secret from a Cookie header, if it has one. */
export function portalCookie(header: string | undefined): string | undefined {
  for (const pair of header?.split(';') ?? []) {
    const [name, ...value] = pair.trim().split('=');
    if (name === PORTAL_COOKIE && value.length > 0) return value.join('=');
  }
  return undefined;
}

/** Set-Cookie for a session (httpOnly, SameSite=Strict, Secure over https) or, with maxAgeSeconds 0, its removal. */
export function portalSetCookie(secret: string, maxAgeSeconds: number, secure: boolean): string {
  return `${PORTAL_COOKIE}=${secret}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}
