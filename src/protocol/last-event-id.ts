import { MAX_TIMESTAMP_MS } from './since.ts';
import type { PartitionPosition, RequestedPosition } from './position.ts';

/** Bounds that keep a hostile header cheap to reject. */
export const LAST_EVENT_ID_LIMITS = { maxLength: 64 * 1024, maxEntries: 1024 } as const;

/** Kafka's own rule for topic names. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export type LastEventIdResult = { ok: true; positions: RequestedPosition[] } | { ok: false; error: string };

/**
 * Parses a `Last-Event-ID` header: a JSON array of topic names or `{topic, partition, offset}` /
 * `{topic, partition, timestamp}` objects. Absent, empty or `[]` means "no position".
 * Original EventStreams ids use `offset: -1` for "latest"; we accept it, and `-2` for "earliest".
 */
export function parseLastEventId(raw: string | undefined): LastEventIdResult {
  if (raw === undefined) return { ok: true, positions: [] };
  const text = raw.trim();
  if (text === '') return { ok: true, positions: [] };
  if (text.length > LAST_EVENT_ID_LIMITS.maxLength) {
    return { ok: false, error: `Last-Event-ID is longer than ${LAST_EVENT_ID_LIMITS.maxLength} characters` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, error: 'Last-Event-ID must be a JSON array' };
  }
  if (!Array.isArray(parsed)) return { ok: false, error: 'Last-Event-ID must be a JSON array' };
  if (parsed.length > LAST_EVENT_ID_LIMITS.maxEntries) {
    return { ok: false, error: `Last-Event-ID has more than ${LAST_EVENT_ID_LIMITS.maxEntries} entries` };
  }
  const positions: RequestedPosition[] = [];
  const seen = new Set<string>();
  for (const [i, element] of parsed.entries()) {
    const result = parseElement(element);
    if (typeof result === 'string' && result.startsWith('!')) {
      return { ok: false, error: `Last-Event-ID[${i}]: ${result.slice(1)}` };
    }
    const key = typeof result === 'string' ? result : `${result.topic}\u0000${result.partition}`;
    if (seen.has(key)) return { ok: false, error: `Last-Event-ID[${i}]: duplicate entry for ${key.replace('\u0000', '/')}` };
    seen.add(key);
    positions.push(result);
  }
  return { ok: true, positions };
}

/** Returns the position, or an error message prefixed with `!`. */
function parseElement(element: unknown): RequestedPosition | `!${string}` {
  if (typeof element === 'string') {
    return TOPIC_NAME.test(element) ? element : `!'${element.slice(0, 80)}' is not a valid topic name`;
  }
  if (typeof element !== 'object' || element === null || Array.isArray(element)) {
    return '!must be a topic name or an object with topic, partition and offset or timestamp';
  }
  const { topic, partition, offset, timestamp, ts_seen: tsSeen } = element as Record<string, unknown>;
  if (typeof topic !== 'string' || !TOPIC_NAME.test(topic)) return '!topic must be a valid topic name';
  if (!isInteger(partition, 0, 2 ** 31 - 1)) return '!partition must be a non-negative integer';
  const position: PartitionPosition = { topic, partition };
  if (offset !== undefined && offset !== null) {
    if (!isInteger(offset, -2, Number.MAX_SAFE_INTEGER)) return '!offset must be an integer >= -2';
    position.offset = offset;
  }
  if (timestamp !== undefined && timestamp !== null) {
    if (!isInteger(timestamp, 0, MAX_TIMESTAMP_MS)) return '!timestamp must be epoch milliseconds';
    position.timestamp = timestamp;
  }
  if (position.offset === undefined && position.timestamp === undefined) {
    return '!needs an offset or a timestamp';
  }
  if (tsSeen !== undefined && tsSeen !== null) {
    if (!isInteger(tsSeen, 0, 2 ** 31 - 1)) return '!ts_seen must be a non-negative integer';
    if (position.timestamp !== undefined) position.tsSeen = tsSeen;
  }
  return position;
}

function isInteger(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}
