// The package's own tests, on what it ships (dist/, built by `npm test`), with node:test and nothing else.
const assert = require('node:assert/strict');
const { createHmac, randomBytes } = require('node:crypto');
const { test } = require('node:test');
const { verifyWebhook, WebhookVerificationError } = require('../dist/index.js');

const secret = `whsec_${randomBytes(24).toString('base64')}`;
const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
const body = JSON.stringify({
  event_id: 'evt_1',
  event_type: 'user.updated',
  occurred_at: '2026-05-17T08:00:00.000Z',
  tenant: { id: 't' },
  data: {},
});
const now = 1_800_000_000;
const options = { nowSeconds: () => now };

/** The headers IntelliAuth sends: Standard Webhooks and the IntelliAuth signature, signed with `keys`. */
function signed(keys = [key], timestamp = now, text = body) {
  return {
    'webhook-id': 'evt_1',
    'webhook-timestamp': String(timestamp),
    'webhook-signature': keys
      .map((k) => `v1,${createHmac('sha256', k).update(`evt_1.${timestamp}.${text}`).digest('base64')}`)
      .join(' '),
    'x-intelliauth-signature': createHmac('sha256', keys[0]).update(text).digest('hex'),
    'x-intelliauth-timestamp': String(timestamp),
  };
}

function code(run) {
  try {
    run();
    return 'passed';
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error.code;
    throw error;
  }
}

test('returns the event for a valid signature, from a string, bytes, Node headers or Fetch Headers', () => {
  assert.equal(verifyWebhook(body, signed(), secret, options).event_id, 'evt_1');
  assert.equal(verifyWebhook(Buffer.from(body), signed(), [secret], options).event_type, 'user.updated');
  assert.equal(verifyWebhook(new TextEncoder().encode(body), new Headers(signed()), secret, options).event_id, 'evt_1');
  const mixedCase = Object.fromEntries(Object.entries(signed()).map(([name, value]) => [name.toUpperCase(), value]));
  assert.equal(verifyWebhook(body, mixedCase, secret, options).event_id, 'evt_1');
});

test('refuses a changed body, another secret, missing headers and a stale or future timestamp', () => {
  assert.equal(
    code(() => verifyWebhook(body.replace('updated', 'deleted'), signed(), secret, options)),
    'invalid_signature',
  );
  assert.equal(
    code(() => verifyWebhook(body, signed([randomBytes(24)]), secret, options)),
    'invalid_signature',
  );
  assert.equal(
    code(() => verifyWebhook(body, {}, secret, options)),
    'missing_headers',
  );
  assert.equal(
    code(() => verifyWebhook(body, signed([key], now - 301), secret, options)),
    'timestamp_out_of_tolerance',
  );
  assert.equal(
    code(() => verifyWebhook(body, signed([key], now + 301), secret, options)),
    'timestamp_out_of_tolerance',
  );
  assert.equal(
    code(() => verifyWebhook(body, { ...signed(), 'webhook-timestamp': 'soon' }, secret, options)),
    'invalid_timestamp',
  );
  assert.equal(
    code(() => verifyWebhook(body, signed(), 'whsec_', options)),
    'invalid_secret',
  );
});

test('passes during a rotation with any valid secret', () => {
  const older = randomBytes(24);
  assert.equal(
    code(() => verifyWebhook(body, signed([key, older]), `whsec_${older.toString('base64')}`, options)),
    'passed',
  );
});

test('refuses the IntelliAuth signature alone (its timestamp is unsigned) unless allowBodyOnlySignature', () => {
  const withoutSignature = signed();
  delete withoutSignature['webhook-signature'];
  // A replay: the body and its body-only signature as captured, under a timestamp nobody signed.
  const { 'x-intelliauth-signature': signature } = signed([key], now - 86_400);
  const replayed = { 'x-intelliauth-signature': signature, 'x-intelliauth-timestamp': String(now) };
  assert.equal(
    code(() => verifyWebhook(body, withoutSignature, secret, options)),
    'body_only_signature',
  );
  assert.equal(
    code(() => verifyWebhook(body, replayed, secret, options)),
    'body_only_signature',
  );
  const optedIn = { ...options, allowBodyOnlySignature: true };
  assert.equal(verifyWebhook(body, replayed, secret, optedIn).event_id, 'evt_1');
  assert.equal(
    code(() => verifyWebhook(body, replayed, `whsec_${randomBytes(24).toString('base64')}`, optedIn)),
    'invalid_signature',
  );
});

test('refuses a signed body that is not JSON', () => {
  assert.equal(
    code(() => verifyWebhook('not json', signed([key], now, 'not json'), secret, options)),
    'invalid_json',
  );
});
