import { Module } from '@nestjs/common';
import { OperatorActionsController } from './operator-actions.controller';

@Module({ controllers: [OperatorActionsController] })
export class OperatorActionsModule {}
