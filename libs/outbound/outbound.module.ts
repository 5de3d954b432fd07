import { Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ListenSessionsRepository } from '../db/listen-sessions.repository';
import { OutboundPolicy } from './address-policy';
import { OAuth2TokensRepository } from '../db/oauth2-tokens.repository';
import { ListenHandoff } from './listen-handoff';
import { OAuth2Tokens } from './oauth2-tokens';
import { WebhookSender } from './webhook-sender';

/**
 * The one way out to receivers, for the worker's attempts and the api's test sends alike: every request (token
 * fetches included) goes through the SSRF guard with the operator's allowlist (WEBHOOK_ALLOWED_TARGETS), the same
 * policy that judges receiver URLs when they are set, and through the egress proxy when WEBHOOK_EGRESS_PROXY is set;
 * or, for a listen session, the hand-off to the tool that opened it.
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
        new WebhookSender({
          policy,
          propagateTraceContext: config.tracing.propagateToReceivers,
          egressProxy: config.egressProxy,
        }),
    },
    {
      provide: OAuth2Tokens,
      inject: [WebhookSender, OAuth2TokensRepository],
      useFactory: (sender: WebhookSender, shared: OAuth2TokensRepository) => new OAuth2Tokens(sender, shared),
    },
    {
      provide: ListenHandoff,
      inject: [ListenSessionsRepository],
      useFactory: (sessions: ListenSessionsRepository) => new ListenHandoff(sessions),
    },
  ],
  exports: [OutboundPolicy, WebhookSender, OAuth2Tokens, ListenHandoff],
})
export class OutboundModule implements OnApplicationShutdown {
  constructor(private readonly sender: WebhookSender) {}

  async onApplicationShutdown(): Promise<void> {
    await this.sender.close();
  }
}
