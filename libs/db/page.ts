/** Cursor pages over prefixed-ULID ids, newest first: the cursor is the last id of the previous page, opaque to clients. */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

/** Returns undefined for a cursor that this service did not issue. */
export function decodeCursor(cursor: string): string | undefined {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  return /^[a-z]+_[0-9A-Z]{26}$/.test(id) ? id : undefined;
}

/** Queries fetch limit+1 rows; the extra row only says whether another page exists. */
export function toPage<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const data = rows.slice(0, limit);
  const more = rows.length > limit;
  return { data, next_cursor: more ? encodeCursor(data[data.length - 1].id) : null };
}
