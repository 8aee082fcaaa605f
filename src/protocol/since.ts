/** Largest accepted timestamp (ms): year 9999, so arithmetic on it never loses precision. */
export const MAX_TIMESTAMP_MS = 253402300799999;

export type SinceResult = { ok: true; timestamp?: number } | { ok: false; error: string };

/**
 * Parses the `since` query parameter as EventStreams does: empty means absent, an integer is epoch
 * milliseconds, anything else must be a date (ISO-8601 or RFC 2822).
 */
export function parseSince(raw: string | undefined): SinceResult {
  if (raw === undefined) return { ok: true };
  const value = raw.trim();
  if (value === '') return { ok: true };
  if (value.length > 64) return { ok: false, error: 'since is too long to be a timestamp' };
  if (/^-?\d+$/.test(value)) {
    const ms = Number(value);
    if (ms < 0 || ms > MAX_TIMESTAMP_MS) {
      return { ok: false, error: `since must be between 0 and ${MAX_TIMESTAMP_MS} milliseconds since the epoch` };
    }
    return { ok: true, timestamp: ms };
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    return { ok: false, error: `since '${value}' is neither epoch milliseconds nor an ISO-8601 date` };
  }
  if (ms < 0 || ms > MAX_TIMESTAMP_MS) return { ok: false, error: 'since is out of range' };
  return { ok: true, timestamp: ms };
}
