import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig } from '../../../../libs/config/config';
import { projectRoot } from '../../../../libs/config/project-root';

/** Where `npm run build` (vite) writes the portal; the Dockerfile copies dist/ whole. */
export const PORTAL_DIST = join(projectRoot(), 'dist', 'portal');

/**
 * The portal's own scripts and styles only: no inline script or style, no eval, no other origin; the API is the
 * only place it connects to; frames only from PORTAL_FRAME_ANCESTORS.
 */
export function portalContentSecurityPolicy(frameAncestors: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ');
}

/**
 * Serves the built portal at /portal/: hashed assets are immutable for a year, index.html is revalidated on every
 * load (so a new build is picked up at once), and every file carries the CSP.
 */
const ASSETS = join(PORTAL_DIST, 'assets');

export function servePortal(app: NestFastifyApplication, config: AppConfig): void {
  if (!existsSync(PORTAL_DIST)) return;
  const csp = portalContentSecurityPolicy(config.portal.frameAncestors);
  app
    .getHttpAdapter()
    .getInstance()
    .get('/portal', (_request, reply) => reply.redirect('/portal/', 301));
  app.useStaticAssets({
    root: PORTAL_DIST,
    prefix: '/portal/',
    decorateReply: false,
    // @fastify/static passes its FastifyReply (Nest's type for it names a setHeader that is not there).
    setHeaders: (reply, path) =>
      void (reply as unknown as FastifyReply).headers({
        'content-security-policy': csp,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': path.startsWith(ASSETS) ? 'public, max-age=31536000, immutable' : 'no-cache',
      }),
  });
}
