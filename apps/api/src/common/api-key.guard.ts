import { CanActivate, ExecutionContext, HttpStatus, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '../../../../libs/config/config';
import { APP_CONFIG } from '../../../../libs/config/config.module';
import { ApiError } from './api-error';

const PUBLIC_ROUTE = 'publicRoute';
/** Marks a route that answers without an API key (health checks). */
export const PublicRoute = () => SetMetadata(PUBLIC_ROUTE, true);

const digest = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/**
 * `Authorization: Bearer <key>` against the configured service keys. Keys are held only as SHA-256 digests and
 * looked up by digest, so the comparison never walks the secret byte by byte.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly serviceKeyDigests: ReadonlySet<string>;

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.serviceKeyDigests = new Set(config.apiKeys.map(digest));
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw new ApiError(HttpStatus.UNAUTHORIZED, 'unauthorized', 'send an API key as Authorization: Bearer <key>');
    if (!this.serviceKeyDigests.has(digest(match[1]))) {
      throw new ApiError(HttpStatus.UNAUTHORIZED, 'unauthorized', 'the API key is not valid');
    }
    return true;
  }
}
