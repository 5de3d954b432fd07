import { Module } from '@nestjs/common';
import { OutboundModule } from '../../../../libs/outbound/outbound.module';
import { ReceiverCredentialsValidator } from './receiver-credentials.validator';
import { ReceiverUrlValidator } from './receiver-url.validator';
import { SubscriptionsController } from './subscriptions.controller';
import { SubscriptionsService } from './subscriptions.service';
import { TestSendService } from './test-send.service';

@Module({
  imports: [OutboundModule],
  controllers: [SubscriptionsController],
  providers: [SubscriptionsService, ReceiverUrlValidator, ReceiverCredentialsValidator, TestSendService],
  // A listen session is a subscription: it ends as one is deleted.
  exports: [SubscriptionsService],
})
export class SubscriptionsModule {}
