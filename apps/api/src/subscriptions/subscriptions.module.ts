import { Module, OnApplicationShutdown } from '@nestjs/common';
import { WebhookSender } from '../../../../libs/outbound/webhook-sender';
import { AppConfig } from '../../../../libs/config/config';
import { APP_CONFIG } from '../../../../libs/config/config.module';
import { OutboundPolicy } from '../../../../libs/outbound/address-policy';
import { ReceiverUrlValidator } from './receiver-url.validator';
import { SubscriptionsController } from './subscriptions.controller';
import { SubscriptionsService } from './subscriptions.service';
import { TestSendService } from './test-send.service';

@Module({
  controllers: [SubscriptionsController],
  providers: [
    SubscriptionsService,
    ReceiverUrlValidator,
    TestSendService,
    {
      provide: OutboundPolicy,
      useFactory: (config: AppConfig) => new OutboundPolicy(config.outboundAllowlist),
      inject: [APP_CONFIG],
    },
    // Test sends go out through the same sender class as the worker's attempts, behind the same SSRF guard that
    // judges receiver URLs when they are set.
    {
      provide: WebhookSender,
      useFactory: (config: AppConfig, policy: OutboundPolicy) =>
        new WebhookSender({ policy, propagateTraceContext: config.tracing.propagateToReceivers }),
      inject: [APP_CONFIG, OutboundPolicy],
    },
  ],
})
export class SubscriptionsModule implements OnApplicationShutdown {
  constructor(private readonly sender: WebhookSender) {}

  async onApplicationShutdown(): Promise<void> {
    await this.sender.close();
  }
}
