/**
 * What is kept of a receiver's answer must always be storable as Postgres text and readable by a person: a body
 * that cannot be recorded would fail the attempt's record after the POST went out, and a retried record must never
 * mean a resent delivery.
 */

/** Content encodings whose bytes are not the text they stand for (the sender does not decompress answers). */
const IDENTITY_ENCODINGS = new Set(['', 'identity']);

/** Media types that are text whatever their bytes look like at first; anything else is judged by its bytes. */
const TEXT_MEDIA_TYPE =
  /^(text\/|application\/([\w.+-]*\+)?(json|xml|x-www-form-urlencoded|javascript|problem\+json))/i;

/** Media types that are binary even when their first bytes happen to decode. */
const BINARY_MEDIA_TYPE =
  /^(image|audio|video|font)\/|^application\/(octet-stream|zip|gzip|pdf|x-protobuf|protobuf|grpc)/i;

/**
 * Control characters a text column or a terminal should not get: NUL (which Postgres refuses in text) and the other
 * C0 and C1 controls but tab, line feed and carriage return.
 */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

/** Text with every unprintable character (NUL included) replaced by U+FFFD, so it can be stored and shown. */
export function printableText(text: string): string {
  return text.replace(UNPRINTABLE, '\uFFFD');
}

export interface ReceivedBody {
  /** The first bytes of the body, up to the excerpt's size. */
  head: Buffer;
  /** Bytes read in all (the whole body, unless reading stopped at `abandoned`). */
  totalBytes: number;
  /** Reading stopped at the drain limit: the body is at least `totalBytes` long. */
  abandoned: boolean;
  contentType: string | undefined;
  contentEncoding: string | undefined;
}

/**
 * The excerpt of an answer: its text (invalid UTF-8 and unprintable characters replaced), or, for a compressed or
 * binary body, a one-line summary of what came (size, type, encoding). Null for an empty body.
 */
export function responseExcerpt(body: ReceivedBody): string | null {
  if (body.totalBytes === 0) return null;
  const encoding = (body.contentEncoding ?? '').trim().toLowerCase();
  const type = (body.contentType ?? '').trim();
  const binary =
    !IDENTITY_ENCODINGS.has(encoding) ||
    (!TEXT_MEDIA_TYPE.test(type) && (BINARY_MEDIA_TYPE.test(type) || !isUtf8Prefix(body.head)));
  if (!binary) return printableText(new TextDecoder('utf-8').decode(body.head));
  const size = body.abandoned ? `more than ${body.totalBytes} bytes` : `${body.totalBytes} bytes`;
  const parts = [size, type && `content-type ${type}`, encoding && `content-encoding ${encoding}`].filter(Boolean);
  return printableText(`[binary body: ${parts.join(', ')}]`).slice(0, 300);
}

/** Whether the bytes are valid UTF-8, allowing a character cut off at the end (the excerpt stops mid-body). */
function isUtf8Prefix(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}
