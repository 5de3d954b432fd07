import { printableText, ReceivedBody, responseExcerpt } from '../../libs/outbound/response-excerpt';

const body = (head: Buffer | string, fields: Partial<ReceivedBody> = {}): ReceivedBody => {
  const bytes = Buffer.isBuffer(head) ? head : Buffer.from(head);
  return {
    head: bytes,
    totalBytes: bytes.length,
    abandoned: false,
    contentType: undefined,
    contentEncoding: undefined,
    ...fields,
  };
};

describe('the excerpt kept of a receiver answer', () => {
  it('is null for an empty body', () => {
    expect(responseExcerpt(body(''))).toBeNull();
  });

  it('keeps text, with NUL and other control characters replaced, tabs and newlines kept', () => {
    expect(responseExcerpt(body('ok\0\x07\x1b[31m\tline\r\n\u0085'))).toBe('ok\uFFFD\uFFFD\uFFFD[31m\tline\r\n\uFFFD');
  });

  it('keeps a UTF-8 character cut off at the excerpt end as text (the cut decodes to U+FFFD)', () => {
    const cut = Buffer.from('réponse ✓').subarray(0, -1);
    expect(responseExcerpt(body(cut))).toBe('réponse \uFFFD');
  });

  it('replaces invalid UTF-8 in a body declared as text', () => {
    expect(responseExcerpt(body(Buffer.from([0x6f, 0x6b, 0xff, 0x21]), { contentType: 'text/plain' }))).toBe(
      'ok\uFFFD!',
    );
  });

  it('summarises compressed, binary-typed and undeclared non-UTF-8 bodies by size, type and encoding', () => {
    expect(responseExcerpt(body('{"a":1}', { contentType: 'application/json', contentEncoding: 'br' }))).toBe(
      '[binary body: 7 bytes, content-type application/json, content-encoding br]',
    );
    expect(responseExcerpt(body('GIF89a', { contentType: 'image/gif' }))).toBe(
      '[binary body: 6 bytes, content-type image/gif]',
    );
    expect(
      responseExcerpt(body(Buffer.from([0x1f, 0x8b, 0x08, 0x00]), { totalBytes: 2_000_000, abandoned: true })),
    ).toBe('[binary body: more than 2000000 bytes]');
  });

  it('never lets a header value carry a control character into the summary', () => {
    expect(responseExcerpt(body('x', { contentType: 'image/png\0', contentEncoding: 'gzip' }))).toBe(
      '[binary body: 1 bytes, content-type image/png\uFFFD, content-encoding gzip]',
    );
    expect(printableText('a\0b')).toBe('a\uFFFDb');
  });
});
