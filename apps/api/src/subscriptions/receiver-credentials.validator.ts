import { HttpStatus, Injectable } from '@nestjs/common';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import {
  HEADER_NAME_PATTERN,
  HEADER_VALUE_PATTERN,
  MAX_HEADER_NAME_LENGTH,
  OAuth2ClientAuth,
  OAuth2Credentials,
  reservedHeaderReason,
} from '../../../../libs/contracts/receiver-credentials';
import { HeaderChanges, HeaderInput, TlsClientInput } from '../../../../libs/db/receiver-credentials';
import { ApiError } from '../common/api-error';
import { ReceiverUrlValidator } from './receiver-url.validator';

type HeaderSetting = string | { value: string; secret?: boolean };

export interface OAuth2Body {
  token_url: string;
  client_id: string;
  client_secret: string;
  scope?: string;
  audience?: string;
  client_auth?: OAuth2ClientAuth;
}

export interface TlsClientBody {
  certificate?: string;
  private_key?: string;
  ca?: string;
}

const invalid = (code: string, field: string, problem: string) =>
  new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, code, `${field} ${problem}`, [{ field, problem }]);

/**
 * The receiver credentials of a subscription body, checked beyond their schema: header names and values that
 * cannot split or take over a request, a token URL the outbound rules allow, a certificate that parses, matches
 * its key and has not expired. Nothing here ever repeats a value in an error.
 */
@Injectable()
export class ReceiverCredentialsValidator {
  constructor(private readonly receiverUrls: ReceiverUrlValidator) {}

  /** Headers to set on a new subscription. */
  headers(body: Record<string, HeaderSetting>): HeaderInput[] {
    return this.headerChanges(body)!.set;
  }

  /** Header changes of an update: null as a whole removes every header, null for one removes that one. */
  headerChanges(body: Record<string, HeaderSetting | null> | null): HeaderChanges {
    if (body === null) return null;
    const changes = { set: [] as HeaderInput[], remove: [] as string[] };
    const seen = new Set<string>();
    for (const [name, setting] of Object.entries(body)) {
      const field = `headers.${name.slice(0, MAX_HEADER_NAME_LENGTH)}`;
      if (name.length > MAX_HEADER_NAME_LENGTH || !HEADER_NAME_PATTERN.test(name))
        throw invalid(
          'invalid_header',
          field,
          `is not a header name: 1-${MAX_HEADER_NAME_LENGTH} letters, digits and !#$%&'*+.^_\`|~-`,
        );
      const reserved = reservedHeaderReason(name);
      if (reserved !== undefined) throw invalid('reserved_header', field, `may not be set: ${reserved}`);
      if (seen.has(name.toLowerCase())) throw invalid('invalid_header', field, 'is named twice (names ignore case)');
      seen.add(name.toLowerCase());
      if (setting === null) {
        changes.remove.push(name);
        continue;
      }
      const { value, secret = true } = typeof setting === 'string' ? { value: setting } : setting;
      if (!HEADER_VALUE_PATTERN.test(value))
        throw invalid(
          'invalid_header',
          field,
          'has a value with CR, LF or another control character; use visible ASCII, spaces and tabs',
        );
      changes.set.push({ name, value, secret });
    }
    return changes;
  }

  oauth2(body: OAuth2Body): OAuth2Credentials {
    return {
      tokenUrl: this.receiverUrls.require(body.token_url, 'oauth2.token_url'),
      clientId: body.client_id,
      clientSecret: body.client_secret,
      scope: body.scope ?? null,
      audience: body.audience ?? null,
      clientAuth: body.client_auth ?? 'basic',
    };
  }

  tlsClient(body: TlsClientBody, now = new Date()): TlsClientInput {
    const ca = body.ca === undefined ? null : this.caBundle(body.ca);
    if (body.certificate === undefined && body.private_key === undefined)
      return { certificate: null, privateKey: null, ca, subject: null, issuer: null, expiresAt: null };
    if (body.certificate === undefined || body.private_key === undefined)
      throw invalid(
        'invalid_tls_client',
        body.certificate === undefined ? 'tls_client.certificate' : 'tls_client.private_key',
        'is required with the other: a client certificate goes with its key',
      );
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(body.certificate);
    } catch {
      throw invalid('invalid_tls_client', 'tls_client.certificate', 'is not a PEM certificate');
    }
    let matches: boolean;
    try {
      matches = certificate.checkPrivateKey(createPrivateKey(body.private_key));
    } catch {
      throw invalid('invalid_tls_client', 'tls_client.private_key', 'is not an unencrypted PEM private key');
    }
    if (!matches)
      throw invalid('invalid_tls_client', 'tls_client.private_key', 'is not the key of tls_client.certificate');
    const expiresAt = new Date(certificate.validTo);
    if (expiresAt <= now)
      throw invalid('invalid_tls_client', 'tls_client.certificate', `expired at ${expiresAt.toISOString()}`);
    return {
      certificate: body.certificate,
      privateKey: body.private_key,
      ca,
      subject: distinguishedName(certificate.subject),
      issuer: distinguishedName(certificate.issuer),
      expiresAt,
    };
  }

  private caBundle(ca: string): string {
    try {
      createSecureContext({ ca });
      new X509Certificate(ca);
    } catch {
      throw invalid('invalid_tls_client', 'tls_client.ca', 'is not a bundle of PEM certificates');
    }
    return ca;
  }
}

/** node prints a name one attribute a line; answers show it on one line, as openssl does. */
const distinguishedName = (text: string) => text.split('\n').filter(Boolean).join(', ');
