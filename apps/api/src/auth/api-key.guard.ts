import { CanActivate, createParamDecorator, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Metadata } from '@grpc/grpc-js';
import type { FastifyRequest } from 'fastify';
import { Authenticator } from './authenticator';
import { PORTAL_HEADER } from './portal-cookie';
import { Principal } from './principal';

const PUBLIC_ROUTE = 'publicRoute';
/** Marks a route that answers without an API key (health checks). */
export const PublicRoute = () => SetMetadata(PUBLIC_ROUTE, true);

const PRINCIPAL = Symbol('principal');
type WithPrincipal = { [PRINCIPAL]?: Principal };

/** REST (`Authorization` header, or the portal's cookie and header) and gRPC (`authorization` metadata) both authenticate here. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()]))
      return true;
    if (context.getType() === 'rpc') {
      const metadata = context.switchToRpc().getContext<Metadata>();
      const [authorization] = metadata.get('authorization');
      (metadata as unknown as WithPrincipal)[PRINCIPAL] = await this.authenticator.authenticate({
        authorization: authorization?.toString(),
      });
      return true;
    }
    const request = context.switchToHttp().getRequest<FastifyRequest & WithPrincipal>();
    const { authorization, cookie } = request.headers;
    request[PRINCIPAL] = await this.authenticator.authenticate({
      authorization,
      cookie,
      // Node joins a repeated custom header into one string.
      portalHeader: request.headers[PORTAL_HEADER.toLowerCase()] as string | undefined,
      secure: request.protocol === 'https',
    });
    return true;
  }
}

/** The authenticated caller of a REST route or gRPC method. */
export const Caller = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const holder =
    context.getType() === 'rpc'
      ? context.switchToRpc().getContext<WithPrincipal>()
      : context.switchToHttp().getRequest<WithPrincipal>();
  const principal = holder[PRINCIPAL];
  if (!principal) throw new Error('route reached without authentication');
  return principal;
});
