import { loadConfig } from '../../libs/config/config';
import {
  HEADER_NAME_PATTERN,
  HEADER_VALUE_PATTERN,
  reservedHeaderReason,
} from '../../libs/contracts/receiver-credentials';

describe('receiver headers', () => {
  it.each([
    'Host',
    'content-length',
    'Content-Type',
    'TRANSFER-ENCODING',
    'Connection',
    'X-IntelliAuth-Signature',
    'x-intelliauth-custom',
    'webhook-id',
    'Webhook-Anything',
  ])('refuses %s, saying why', (name) => {
    expect(reservedHeaderReason(name)).toMatch(/delivery/);
  });

  it.each(['Authorization', 'X-Api-Key', 'X-Webhook-Token', 'X-IntelliAuthority'])('allows %s', (name) => {
    expect(reservedHeaderReason(name)).toBeUndefined();
    expect(HEADER_NAME_PATTERN.test(name)).toBe(true);
  });

  it('refuses names that are not HTTP tokens and values with CR, LF or other control characters', () => {
    for (const name of ['X Api', 'X-Api:', 'X-Ä', ''])
      expect({ name, ok: HEADER_NAME_PATTERN.test(name) }).toEqual({ name, ok: false });
    for (const value of ['a\r\nX-Evil: 1', 'a\nb', 'a\rb', 'a\u0000b', 'a\u007fb', 'ä'])
      expect({ value, ok: HEADER_VALUE_PATTERN.test(value) }).toEqual({ value, ok: false });
    expect(HEADER_VALUE_PATTERN.test('Bearer abc.def\t~!')).toBe(true);
  });
});

describe('WEBHOOK_EGRESS_PROXY', () => {
  it('takes http://[user:password@]host:port', () => {
    expect(loadConfig({ WEBHOOK_EGRESS_PROXY: 'http://egress.internal:3128' }).egressProxy).toBe(
      'http://egress.internal:3128',
    );
    expect(loadConfig({ WEBHOOK_EGRESS_PROXY: 'http://u:p%40ss@10.0.0.5:8080' }).egressProxy).toBe(
      'http://u:p%40ss@10.0.0.5:8080',
    );
    expect(loadConfig({}).egressProxy).toBeUndefined();
  });

  it.each([
    ['https://u:hunter2@proxy:3128', /http: URL/],
    ['http://u:hunter2@proxy', /with the port/],
    ['http://u:hunter2@proxy:3128/path', /nothing after it/],
    ['u:hunter2@proxy:3128', /not a URL|http: URL/],
  ])('refuses %s without repeating the password', (value, problem) => {
    expect(() => loadConfig({ WEBHOOK_EGRESS_PROXY: value })).toThrow(problem);
    try {
      loadConfig({ WEBHOOK_EGRESS_PROXY: value });
    } catch (error) {
      expect((error as Error).message).toContain('WEBHOOK_EGRESS_PROXY');
      expect((error as Error).message).not.toContain('hunter2');
    }
  });
});
