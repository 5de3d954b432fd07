import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ClientCertificatesRepository } from '../../../libs/db/client-certificates.repository';
import { OperationalEvents } from '../../../libs/operational/operational-event-emitter';

/** A client certificate expiring within this is warned about (`webhook.certificate.expiring`). */
export const CERTIFICATE_EXPIRY_WARNING_MS = 14 * 86_400_000;
/** How often the worker looks for such certificates (and once at start). */
const CHECK_INTERVAL_MS = 3_600_000;

/**
 * Warns each tenant, once per certificate, that a subscription's client certificate expires soon, while there is
 * time to replace it: after it expires, its receiver refuses every attempt. Several workers may look at once; the
 * event's id derives from the subscription and the certificate's expiry, so a second emission is a no-op.
 */
@Injectable()
export class CertificateExpiryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('certificates');
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly certificates: ClientCertificatesRepository,
    private readonly operational: OperationalEvents,
  ) {}

  onApplicationBootstrap(): void {
    const check = () =>
      this.warnOfExpiring().catch((error: Error) =>
        this.logger.warn(`could not look for expiring client certificates: ${error.message}`),
      );
    void check();
    this.timer = setInterval(check, CHECK_INTERVAL_MS).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Emits the warning for every certificate due one, then marks it given. */
  async warnOfExpiring(): Promise<number> {
    const expiring = await this.certificates.expiringUnwarned(CERTIFICATE_EXPIRY_WARNING_MS);
    for (const certificate of expiring) {
      await this.operational.certificateExpiring(certificate);
      await this.certificates.warned(certificate.subscriptionId, certificate.expiresAt);
    }
    return expiring.length;
  }
}
