import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from './api-key.guard';
import { Authenticator } from './authenticator';

/** Every route, REST and gRPC, goes through the API key guard unless marked public. */
@Module({
  providers: [Authenticator, { provide: APP_GUARD, useClass: ApiKeyGuard }],
})
export class AuthModule {}
