import { Body, Controller, Delete, Get, Headers, HttpCode, HttpStatus, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PortalSessionsRepository } from '../../../../libs/db/portal-sessions.repository';
import { Caller, PublicRoute } from '../auth/api-key.guard';
import { PORTAL_HEADER, portalSetCookie } from '../auth/portal-cookie';
import { Principal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { BodyValidator } from '../common/validation';
import { exchangeTokenSchema } from '../portal-sessions/portal-session.schemas';

const exchangeValidator = BodyValidator.of(exchangeTokenSchema);

const REFUSALS: Record<string, string> = {
  portal_token_invalid: 'this portal link is not valid; open the portal again from the admin console',
  portal_token_expired: 'this portal link has expired; open the portal again from the admin console',
  portal_token_used:
    'this portal link was already used (each link opens one session); open the portal again from the admin console',
  portal_token_revoked: 'this portal session was revoked; open the portal again from the admin console',
};

function portalSession(caller: Principal): { tenantId: string; sessionId: string } {
  if (caller.kind !== 'tenant' || caller.via !== 'portal_session') {
    throw new ApiError(
      HttpStatus.FORBIDDEN,
      'portal_session_required',
      'this route is the portal’s own: it takes the portal session cookie, not an API key',
    );
  }
  return { tenantId: caller.tenantId, sessionId: caller.credentialId };
}

/**
 * The portal's own routes (not part of the public API, so not in the OpenAPI document): exchange a one-time
 * token for the session cookie, read the session, end it. Every call needs the portal header, the exchange too, so
 * no other site's page can log a browser into a session of its choosing.
 */
@ApiExcludeController()
@Controller('portal/session')
export class PortalController {
  constructor(private readonly sessions: PortalSessionsRepository) {}

  @Post()
  @HttpCode(200)
  @PublicRoute()
  async exchange(
    @Headers(PORTAL_HEADER.toLowerCase()) header: string | undefined,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    if (header !== '1')
      throw new ApiError(
        HttpStatus.UNAUTHORIZED,
        'portal_header_required',
        `the exchange needs the ${PORTAL_HEADER}: 1 header`,
      );
    const { token } = exchangeValidator.parse(body);
    const exchanged = await this.sessions.exchange(token);
    if ('refused' in exchanged)
      throw new ApiError(HttpStatus.UNAUTHORIZED, exchanged.refused, REFUSALS[exchanged.refused]);
    const { session, secret } = exchanged;
    const maxAge = Math.max(0, Math.floor((session.expires_at.getTime() - Date.now()) / 1000));
    void reply
      .header('set-cookie', portalSetCookie(secret, maxAge, request.protocol === 'https'))
      .header('cache-control', 'no-store');
    return { id: session.id, tenant_id: session.tenant_id, expires_at: session.expires_at.toISOString() };
  }

  @Get()
  current(@Caller() caller: Principal) {
    const { tenantId, sessionId } = portalSession(caller);
    return { id: sessionId, tenant_id: tenantId };
  }

  @Delete()
  @HttpCode(204)
  async end(
    @Caller() caller: Principal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const { tenantId, sessionId } = portalSession(caller);
    await this.sessions.revoke(tenantId, sessionId);
    void reply.header('set-cookie', portalSetCookie('', 0, request.protocol === 'https'));
  }
}
