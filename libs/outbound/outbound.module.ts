import { Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { OutboundPolicy } from './address-policy';
import { WebhookSender } from './webhook-sender';

/**
 * The one way out to receivers, for the worker's attempts and the api's test sends alike: every request goes through
 * the SSRF guard with the operator's allowlist (WEBHOOK_ALLOWED_TARGETS), the same policy that judges receiver URLs
 * when they are set.
 */
@Module({
  providers: [
    {
      provide: OutboundPolicy,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new OutboundPolicy(config.outboundAllowlist),
    },
    {
      provide: WebhookSender,
      inject: [APP_CONFIG, OutboundPolicy],
      useFactory: (config: AppConfig, policy: OutboundPolicy) =>
        new WebhookSender({ policy, propagateTraceContext: config.tracing.propagateToReceivers }),
    },
  ],
  exports: [OutboundPolicy, WebhookSender],
})
export class OutboundModule implements OnApplicationShutdown {
  constructor(private readonly sender: WebhookSender) {}

  async onApplicationShutdown(): Promise<void> {
    await this.sender.close();
  }
}
