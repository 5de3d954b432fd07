import { createHmac } from 'node:crypto';
import { deliveryHeaders, generateSigningSecret } from '../../libs/signing/signing';
import { verifyWebhook, WebhookVerificationError } from '@intelliauth/webhooks-receiver';

const body = JSON.stringify({
  event_id: 'evt_1',
  event_type: 'user.updated',
  occurred_at: '2026-05-17T08:00:00.000Z',
  tenant: { id: 't' },
  data: {},
});
const now = 1_800_000_000;
const signed = (secrets: string[], timestampSeconds = now) =>
  deliveryHeaders({ secrets, eventId: 'evt_1', eventType: 'user.updated', attempt: 1, timestampSeconds, body });

function failure(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error.code;
    throw error;
  }
  return 'passed';
}

describe('verifyWebhook (the receiver library)', () => {
  const secret = generateSigningSecret();
  const options = { nowSeconds: () => now };

  it('returns the parsed event for a valid Standard Webhooks signature', () => {
    expect(verifyWebhook(body, signed([secret]), secret, options)).toMatchObject({
      event_id: 'evt_1',
      event_type: 'user.updated',
    });
    expect(verifyWebhook(Buffer.from(body), signed([secret]), [secret], options).event_id).toBe('evt_1');
  });

  it("refuses the product's delivery with its webhook-* headers stripped: the body-only signature does not sign the timestamp", () => {
    // Captured a day ago, sent again now: the IntelliAuth signature still matches the body.
    const captured = signed([secret], now - 86_400);
    const replayed = {
      'x-intelliauth-signature': captured['x-intelliauth-signature'],
      'x-intelliauth-timestamp': String(now),
    };
    expect(failure(() => verifyWebhook(body, replayed, secret, options))).toBe('body_only_signature');
    const { 'webhook-id': _id, ...withoutId } = signed([secret]);
    expect(failure(() => verifyWebhook(body, withoutId, secret, options))).toBe('body_only_signature');
  });

  it('accepts the IntelliAuth signature alone only with allowBodyOnlySignature, and refuses it with the wrong secret', () => {
    const headers = signed([secret]);
    const intelliauthOnly = {
      'x-intelliauth-signature': headers['x-intelliauth-signature'],
      'x-intelliauth-timestamp': headers['x-intelliauth-timestamp'],
    };
    const optedIn = { ...options, allowBodyOnlySignature: true };
    expect(verifyWebhook(body, intelliauthOnly, secret, optedIn).event_id).toBe('evt_1');
    expect(failure(() => verifyWebhook(body, intelliauthOnly, generateSigningSecret(), optedIn))).toBe(
      'invalid_signature',
    );
  });

  it('refuses a changed body, a wrong secret and missing headers', () => {
    expect(
      failure(() => verifyWebhook(body.replace('user.updated', 'user.deleted'), signed([secret]), secret, options)),
    ).toBe('invalid_signature');
    expect(failure(() => verifyWebhook(body, signed([secret]), generateSigningSecret(), options))).toBe(
      'invalid_signature',
    );
    expect(failure(() => verifyWebhook(body, {}, secret, options))).toBe('missing_headers');
  });

  it('holds the timestamp to a tolerance of 5 minutes either way, configurable', () => {
    expect(failure(() => verifyWebhook(body, signed([secret], now - 301), secret, options))).toBe(
      'timestamp_out_of_tolerance',
    );
    expect(failure(() => verifyWebhook(body, signed([secret], now + 301), secret, options))).toBe(
      'timestamp_out_of_tolerance',
    );
    expect(failure(() => verifyWebhook(body, signed([secret], now - 299), secret, options))).toBe('passed');
    expect(
      failure(() => verifyWebhook(body, signed([secret], now - 30), secret, { ...options, toleranceSeconds: 10 })),
    ).toBe('timestamp_out_of_tolerance');
    expect(
      failure(() => verifyWebhook(body, { ...signed([secret]), 'webhook-timestamp': 'soon' }, secret, options)),
    ).toBe('invalid_timestamp');
  });

  it('passes with any valid secret during a rotation, from either side', () => {
    const older = generateSigningSecret();
    const headers = signed([secret, older]);
    expect(failure(() => verifyWebhook(body, headers, older, options))).toBe('passed');
    expect(failure(() => verifyWebhook(body, headers, secret, options))).toBe('passed');
    expect(failure(() => verifyWebhook(body, signed([secret]), [older, secret], options))).toBe('passed');
  });

  it('compares signatures of another length without throwing', () => {
    const headers = { ...signed([secret]), 'webhook-signature': 'v1,c2hvcnQ=' };
    expect(failure(() => verifyWebhook(body, headers, secret, options))).toBe('invalid_signature');
    const forged = createHmac('sha256', 'x').update(body).digest('hex');
    expect(
      failure(() =>
        verifyWebhook(body, { 'x-intelliauth-signature': forged, 'x-intelliauth-timestamp': String(now) }, secret, {
          ...options,
          allowBodyOnlySignature: true,
        }),
      ),
    ).toBe('invalid_signature');
  });
});
