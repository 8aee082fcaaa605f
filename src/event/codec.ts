import type { KafkaMessage } from '../kafka/records.ts';
import { dataLineBuffer, ownedBuffer, type FrameAlloc } from './frame.ts';
import { spliceMeta, type KeyWatch } from './meta-splice.ts';

/** Why a Kafka message could not be served as an event. */
export type SkipReason = 'null_value' | 'too_large' | 'not_json' | 'not_object';

export type Decoded =
  | { ok: true; data: string; canary: boolean }
  | { ok: false; reason: SkipReason };

/**
 * Turns a message into the event's `data` text: its JSON value with `meta.topic`, `meta.partition`,
 * `meta.offset` and (when keyed) `meta.key` set, so a client can build an exact position from it.
 */
export function decodeMessage(message: KafkaMessage, maxBytes: number): Decoded {
  const { value } = message;
  if (value === null || value.length === 0) return { ok: false, reason: 'null_value' };
  if (value.length > maxBytes) return { ok: false, reason: 'too_large' };
  let event: unknown;
  try {
    event = JSON.parse(value.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not_json' };
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return { ok: false, reason: 'not_object' };
  const record = event as Record<string, unknown>;
  const existing = record.meta;
  const meta: Record<string, unknown> =
    typeof existing === 'object' && existing !== null && !Array.isArray(existing) ? (existing as Record<string, unknown>) : {};
  record.meta = meta;
  meta.topic = message.topic;
  meta.partition = message.partition;
  meta.offset = message.offset;
  if (message.key !== null && message.key.length > 0) meta.key = decodeKey(message.key);
  return { ok: true, data: JSON.stringify(record), canary: meta.domain === 'canary' };
}

let prefixOf = { topic: '', partition: -1, text: '', ascii: true };
/** `"topic":"…","partition":N,"offset":` for a partition (the same for runs of its events), and whether it is ASCII. */
function positionPrefix(topic: string, partition: number): { text: string; ascii: boolean } {
  if (prefixOf.topic !== topic || prefixOf.partition !== partition) {
    const text = `"topic":${JSON.stringify(topic)},"partition":${partition},"offset":`;
    prefixOf = { topic, partition, text, ascii: isAscii(text) };
  }
  return prefixOf;
}

function isAscii(text: string): boolean {
  for (let k = 0; k < text.length; k++) if (text.charCodeAt(k) > 0x7f) return false;
  return true;
}

/** Keys are usually JSON (EventBus keys by page); anything else is passed on as text. */
function decodeKey(key: Buffer): unknown {
  const text = key.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export type Encoded = { ok: true; frame: Buffer; canary: boolean; watched?: number[] } | { ok: false; reason: SkipReason };

/**
 * The event's SSE data line (`data: <json>\n\n`, UTF-8) with the Kafka position in `meta`:
 * spliced into the bytes when the JSON is plain, else through a full parse (`decodeMessage`).
 */
export function encodeEvent(message: KafkaMessage, maxBytes: number, alloc: FrameAlloc = ownedBuffer, watch?: KeyWatch): Encoded {
  const { value } = message;
  if (value === null || value.length === 0) return { ok: false, reason: 'null_value' };
  if (value.length > maxBytes) return { ok: false, reason: 'too_large' };
  const prefix = positionPrefix(message.topic, message.partition);
  let fields = `${prefix.text}${message.offset}`;
  let ascii = prefix.ascii;
  if (message.key !== null && message.key.length > 0) {
    const key = `,"key":${JSON.stringify(decodeKey(message.key))}`;
    fields += key;
    ascii &&= isAscii(key);
  }
  const spliced = spliceMeta(value, fields, alloc, watch, ascii);
  if (spliced !== undefined) return { ok: true, frame: spliced.frame, canary: spliced.canary, watched: spliced.watched };
  const decoded = decodeMessage(message, maxBytes);
  if (!decoded.ok) return decoded;
  return { ok: true, frame: dataLineBuffer(decoded.data), canary: decoded.canary };
}
