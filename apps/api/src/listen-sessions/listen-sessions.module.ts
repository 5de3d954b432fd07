import { Module } from '@nestjs/common';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module';
import { ListenSessionsController } from './listen-sessions.controller';
import { ListenSessionsService } from './listen-sessions.service';

@Module({
  imports: [SubscriptionsModule],
  controllers: [ListenSessionsController],
  providers: [ListenSessionsService],
})
export class ListenSessionsModule {}
