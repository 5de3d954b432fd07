import { Module } from '@nestjs/common';
import { PortalSessionsController } from './portal-sessions.controller';

@Module({ controllers: [PortalSessionsController] })
export class PortalSessionsModule {}
