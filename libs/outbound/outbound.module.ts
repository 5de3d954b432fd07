import { Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ListenSessionsRepository } from '../db/listen-sessions.repository';
import { OutboundPolicy } from './address-policy';
import { ListenHandoff } from './listen-handoff';
import { WebhookSender } from './webhook-sender';

/**
 * The one way out to receivers, for the worker's attempts and the api's test sends alike: every request goes through
 * the SSRF guard with the operator's allowlist (WEBHOOK_ALLOWED_TARGETS), the same policy that judges receiver URLs
 * when they are set; or, for a listen session, the hand-off to the tool that opened it.
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
    {
      provide: ListenHandoff,
      inject: [ListenSessionsRepository],
      useFactory: (sessions: ListenSessionsRepository) => new ListenHandoff(sessions),
    },
  ],
  exports: [OutboundPolicy, WebhookSender, ListenHandoff],
})
export class OutboundModule implements OnApplicationShutdown {
  constructor(private readonly sender: WebhookSender) {}

  async onApplicationShutdown(): Promise<void> {
    await this.sender.close();
  }
}
