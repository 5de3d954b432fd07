import { HttpStatus, Injectable } from '@nestjs/common';
import { OutboundPolicy } from '../../../../libs/outbound/address-policy';
import { ApiError } from '../common/api-error';

/**
 * A receiver URL: absolute http(s), no embedded credentials (they would sit in logs and the UI), and not an IP
 * literal the outbound policy refuses (private, loopback, metadata…, in any encoding) unless allowlisted.
 * Hostnames are not resolved here: the addresses they resolve to are judged at each attempt's connect.
 */
@Injectable()
export class ReceiverUrlValidator {
  constructor(private readonly policy: OutboundPolicy) {}

  /** `field` names the value in errors: `url`, or `oauth2.token_url`. */
  require(value: string, field = 'url'): string {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new ApiError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'invalid_url',
        `${field} must be an absolute http:// or https:// URL`,
      );
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new ApiError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'invalid_url',
        `${field} must use http or https, not ${parsed.protocol.replace(':', '')}`,
      );
    }
    if (parsed.username || parsed.password) {
      throw new ApiError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'invalid_url',
        `${field} must not carry credentials; authenticate receivers by the signature, headers or OAuth2`,
      );
    }
    // The WHATWG parser already turned 0x7f.1, 2130706433, 127.1… into 127.0.0.1; the policy parses any form anyway.
    const verdict = this.policy.checkHost(parsed.hostname);
    if (verdict !== undefined && !verdict.allowed) {
      const address = verdict.embeddedIPv4 ? `${verdict.address} (IPv4 ${verdict.embeddedIPv4})` : verdict.address;
      throw new ApiError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'refused_url',
        `${field} host ${address} is ${verdict.reason}: webhooks are not sent to private, loopback, link-local, metadata ` +
          'or other non-public addresses unless the operator allows them in WEBHOOK_ALLOWED_TARGETS',
      );
    }
    return value;
  }
}
