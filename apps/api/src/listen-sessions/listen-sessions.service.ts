import { HttpStatus, Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../../../../libs/config/config';
import { APP_CONFIG } from '../../../../libs/config/config.module';
import { newSubscriptionId } from '../../../../libs/contracts/ids';
import {
  ListenRequest,
  ListenSessionsRepository,
  ListenSessionView,
} from '../../../../libs/db/listen-sessions.repository';
import { SubscriptionsRepository } from '../../../../libs/db/subscriptions.repository';
import { generateSigningSecret } from '../../../../libs/signing/signing';
import { DeliverySignals } from '../../../../libs/temporal/delivery-signals';
import { listTenant, Principal, refusePlatformTenant, scopeOf, tenantToCreateFor } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { requireEventTypeFilters } from '../common/event-types';
import { withinTenantQuota } from '../common/tenant-quota';
import { BodyValidator } from '../common/validation';
import { SubscriptionsService } from '../subscriptions/subscriptions.service';
import { createListenSessionSchema, listenAnswerSchema } from './listen-session.schemas';

const createValidator = BodyValidator.of(createListenSessionSchema);
const answerValidator = BodyValidator.of(listenAnswerSchema);

/** The longest a poll waits for a request: well inside the api's idle-connection timeout (HTTP_CONNECTION_TIMEOUT). */
export const MAX_POLL_WAIT_SECONDS = 20;
/** How often a waiting poll looks for a request handed to its session. */
const POLL_CHECK_MS = 200;
/** Sessions listed at most: a tenant holds few (its subscription quota); every tenant's at once may be many. */
export const MAX_LISTED = 200;
/** Requests answered to one poll at most. */
const POLL_BATCH = 20;

/**
 * Listen sessions: a subscription whose attempts the command-line tool that opened it fetches by long poll, forwards
 * to a receiver on the developer's machine, and answers back. A session lives while its tool polls and ends
 * LISTEN_SESSION_TTL after the last poll (this service ends the expired ones), or when deleted.
 */
@Injectable()
export class ListenSessionsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('ListenSessions');
  private sweeper?: NodeJS.Timeout;
  private sweeping = false;
  /** The api is shutting down: waiting polls answer at once, before the pool they query is closed. */
  private closing = false;

  constructor(
    private readonly sessions: ListenSessionsRepository,
    private readonly subscriptions: SubscriptionsRepository,
    private readonly subscriptionsService: SubscriptionsService,
    private readonly signals: DeliverySignals,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    // Often enough that a killed tool's session ends within about one TTL and a half.
    const every = Math.min(30_000, Math.max(500, this.config.listenSessionTtlMs / 2));
    this.sweeper = setInterval(() => void this.endExpired(), every).unref();
  }

  onModuleDestroy(): void {
    this.closing = true;
    clearInterval(this.sweeper);
  }

  async create(principal: Principal, body: unknown) {
    const input = createValidator.parse(body);
    const tenantId = tenantToCreateFor(principal, input.tenant_id);
    refusePlatformTenant(tenantId, this.config.platformTenantId, 'listen sessions');
    const secret = generateSigningSecret();
    const created = await withinTenantQuota(() =>
      this.subscriptions.create(
        {
          id: newSubscriptionId(),
          tenantId,
          url: input.forward_to,
          eventTypes: requireEventTypeFilters(input.event_types),
          description: `listen session: intelliauth-webhooks listen, forwarding to ${input.forward_to}`,
          signingSecret: secret,
          listenTtlMs: this.config.listenSessionTtlMs,
        },
        this.config.quotas.subscriptions,
      ),
    );
    const session = await this.live(principal, created.id);
    return { ...session, secret, ttl_seconds: Math.ceil(this.config.listenSessionTtlMs / 1000) };
  }

  async list(principal: Principal, query: Record<string, unknown>) {
    const sessions = await this.sessions.list(listTenant(principal, query), MAX_LISTED);
    return { data: sessions.map((session) => this.withLastSeen(session)) };
  }

  /** Ends the session as a deletion of its subscription does: waiting deliveries end as dead letters. */
  async end(principal: Principal, id: string): Promise<void> {
    await this.live(principal, id);
    await this.subscriptionsService.delete(principal, id);
    await this.sessions.dropRequests(id);
  }

  /**
   * The requests handed to the session, waiting up to `wait_seconds` for the first; every poll keeps the session
   * alive for another TTL.
   */
  async poll(principal: Principal, id: string, query: Record<string, unknown>): Promise<{ requests: ListenRequest[] }> {
    const waitMs = this.pollWaitMs(query.wait_seconds);
    await this.live(principal, id);
    const until = performance.now() + waitMs;
    for (;;) {
      const requests = await this.sessions.claimRequests(id, POLL_BATCH);
      const left = until - performance.now();
      if (requests.length > 0 || left <= 0) return { requests };
      await sleep(Math.min(POLL_CHECK_MS, left));
      if (this.closing) return { requests: [] };
    }
  }

  /** The tool's answer to a request it claimed, which the attempt waiting for it takes as the receiver's. */
  async answer(principal: Principal, id: string, requestId: string, body: unknown) {
    const input = answerValidator.parse(body);
    await this.live(principal, id);
    const recorded = await this.sessions.answer(id, requestId, {
      status_code: input.status_code,
      duration_ms: input.duration_ms,
      error: input.error ?? null,
      response_excerpt: input.response_excerpt ?? null,
      retry_after: input.retry_after ?? null,
    });
    return { recorded };
  }

  /** The caller's live session, kept alive; 404 when it has ended (or is another tenant's). */
  private async live(principal: Principal, id: string) {
    const session = await this.sessions.keepAlive(id, scopeOf(principal), this.config.listenSessionTtlMs);
    if (session === undefined) throw ApiError.notFound('listen session', id);
    return this.withLastSeen(session);
  }

  /** Every call of the tool (its opening, each poll and answer) moves the expiry to a TTL after it. */
  private withLastSeen(session: ListenSessionView) {
    return { ...session, last_seen_at: new Date(session.expires_at.getTime() - this.config.listenSessionTtlMs) };
  }

  /**
   * A poll never outwaits half the session's TTL, so a tool that keeps polling keeps its session, nor half the time
   * the api lets a connection stay silent.
   */
  private pollWaitMs(value: unknown): number {
    const idleMs = this.config.clientLimits.connectionTimeoutMs || Infinity;
    const longest = Math.min(MAX_POLL_WAIT_SECONDS * 1000, this.config.listenSessionTtlMs / 2, idleMs / 2);
    if (value === undefined) return longest;
    if (typeof value !== 'string' || !/^\d{1,3}$/.test(value) || Number(value) > MAX_POLL_WAIT_SECONDS) {
      throw new ApiError(
        HttpStatus.BAD_REQUEST,
        'invalid_query',
        `wait_seconds must be a whole number from 0 to ${MAX_POLL_WAIT_SECONDS}`,
      );
    }
    return Math.min(Number(value) * 1000, longest);
  }

  private async endExpired(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      for (const id of await this.sessions.endExpired())
        await this.signals.stopWaitingDeliveries(id, { reason: 'subscription_deleted' });
    } catch (error) {
      // The next sweep tries again; a waiting delivery missed here stops at its next attempt (subscription deleted).
      this.logger.warn(`ending expired listen sessions failed: ${(error as Error).message}`);
    } finally {
      this.sweeping = false;
    }
  }
}
