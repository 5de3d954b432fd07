import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import {
  deliveryHeaders,
  generateSigningSecret,
  intelliauthSignature,
  signingKey,
  standardSignature,
} from '../../libs/signing/signing';

describe('signing', () => {
  it('matches the Standard Webhooks known answer', () => {
    const key = signingKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(standardSignature(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('signs the IntelliAuth signature as hex HMAC-SHA256 of the body with the decoded secret', () => {
    const secret = generateSigningSecret();
    const body = '{"event_id":"evt_1"}';
    const expected = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
      .update(body)
      .digest('hex');
    expect(intelliauthSignature(signingKey(secret), body)).toBe(expected);
  });

  it('makes secrets of 32 random bytes behind whsec_', () => {
    const a = generateSigningSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(signingKey(a)).toHaveLength(32);
    expect(generateSigningSecret()).not.toBe(a);
  });

  it('refuses a secret without its prefix', () => {
    expect(() => signingKey('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')).toThrow(/whsec_/);
  });

  it('builds the IntelliAuth and Standard Webhooks headers that an independent verifier accepts', () => {
    const secret = generateSigningSecret();
    const body = '{"event_id":"evt_01","data":{}}';
    const timestampSeconds = Math.floor(Date.now() / 1000);
    const headers = deliveryHeaders({
      secrets: [secret],
      eventId: 'evt_01',
      eventType: 'user.updated',
      attempt: 3,
      timestampSeconds,
      body,
    });
    expect(headers).toMatchObject({
      'content-type': 'application/json',
      'x-intelliauth-event-id': 'evt_01',
      'x-intelliauth-event-type': 'user.updated',
      'x-intelliauth-delivery-attempt': '3',
      'x-intelliauth-timestamp': String(timestampSeconds),
      'webhook-id': 'evt_01',
      'webhook-timestamp': String(timestampSeconds),
    });
    expect(new Webhook(secret).verify(body, headers)).toEqual({ event_id: 'evt_01', data: {} });
  });

  it('signs with every valid secret during a rotation, newest first for the IntelliAuth signature', () => {
    const newest = generateSigningSecret();
    const older = generateSigningSecret();
    const body = '{"n":1}';
    const timestampSeconds = Math.floor(Date.now() / 1000);
    const headers = deliveryHeaders({
      secrets: [newest, older],
      eventId: 'evt_2',
      eventType: 'user.updated',
      attempt: 1,
      timestampSeconds,
      body,
    });
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(headers['x-intelliauth-signature']).toBe(intelliauthSignature(signingKey(newest), body));
    for (const secret of [newest, older]) expect(new Webhook(secret).verify(body, headers)).toEqual({ n: 1 });
    expect(() => new Webhook(generateSigningSecret()).verify(body, headers)).toThrow();
  });
});
