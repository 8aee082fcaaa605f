import type { KafkaMessage } from '../kafka/records.ts';
import { DATA_PREFIX, DATA_SUFFIX, ownedBuffer, type FrameAlloc } from './frame.ts';
import { encodeEvent, type SkipReason } from './codec.ts';
import type { KeyWatch } from './meta-splice.ts';

/**
 * A Kafka message decoded and encoded once for every client that receives it. `frame` is shared by
 * all of them; each client only adds its own `event:`/`id:` lines in front of it.
 */
export interface PreparedEvent {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  /**
   * `data: <json>\n\n` as UTF-8, the JSON carrying the Kafka position in `meta`; absent when the
   * message is skipped. The NDJSON line is a view into it (`ndjsonLine`).
   */
  frame?: Buffer;
  canary: boolean;
  skip?: SkipReason;
  /**
   * Set by the live feed: the event's place in the feed's sequence, and how many consecutive events
   * up to this one share its timestamp. A client offered only some events (an indexed filter) keeps
   * an exact id from them (`PositionIds.advance`).
   */
  seq?: number;
  tsRun?: number;
  /** The parsed JSON, for filters and projections; weak, so cached events do not hold it. */
  parsed?: WeakRef<Record<string, unknown>>;
  /**
   * When the frame was built with a `KeyWatch`: where the values of its watched keys are in
   * `frame`, as triples `[key id, start, end, ...]` (see `spliceMeta`). Undefined: not known (no
   * watch, or an event the splice could not take); it goes when the frame is replaced.
   */
  watched?: number[];
  /**
   * The sanitizer's note of what the event was checked against (its own type, see `Sanitizer`),
   * so that a later suppression has it checked again. On the event rather than in a WeakMap:
   * an entry there costs microseconds of garbage collection per event.
   */
  sanitized?: object;
}

/**
 * `alloc`: where the frame goes; by default a buffer of its own, as cached events need. `watch`:
 * keys whose values to note on the way (`watched`).
 */
export function prepareEvent(message: KafkaMessage, maxBytes: number, alloc: FrameAlloc = ownedBuffer, watch?: KeyWatch): PreparedEvent {
  const { topic, partition, offset, timestamp } = message;
  const encoded = encodeEvent(message, maxBytes, alloc, watch);
  // Every field present from the start: events of one shape keep the code that handles them fast.
  if (!encoded.ok) return { topic, partition, offset, timestamp, frame: undefined, canary: false, skip: encoded.reason, seq: undefined, tsRun: undefined, parsed: undefined, watched: undefined, sanitized: undefined };
  return { topic, partition, offset, timestamp, frame: encoded.frame, canary: encoded.canary, skip: undefined, seq: undefined, tsRun: undefined, parsed: undefined, watched: encoded.watched, sanitized: undefined };
}

/** `<json>\n`: the event as a newline-delimited JSON line, sharing the SSE frame's bytes. */
export function ndjsonLine(frame: Buffer): Buffer {
  return frame.subarray(DATA_PREFIX.length, frame.length - DATA_SUFFIX.length + 1);
}

/** The event's JSON text (tests, logs). */
export function eventJson(event: PreparedEvent): string | undefined {
  return event.frame?.toString('utf8', DATA_PREFIX.length, event.frame.length - DATA_SUFFIX.length);
}

/**
 * Approximate memory of an event, for cache budgets: its frame, about 300 bytes for the event
 * object and the frame's Buffer and ArrayBuffer, and the watched positions (numbers of 8 bytes).
 * Measured on the recorded recentchange events after a full GC (test/unit/recent-events-memory.test.ts).
 */
export function eventBytes(event: PreparedEvent): number {
  return 300 + (event.frame?.length ?? 0) + (event.watched === undefined ? 0 : 32 + 8 * event.watched.length);
}

/** The event as an object, parsed once however many clients filter or project it at a time. */
export function eventObject(event: PreparedEvent): Record<string, unknown> | undefined {
  let object = event.parsed?.deref();
  if (object === undefined) {
    const json = eventJson(event);
    if (json === undefined) return undefined;
    object = JSON.parse(json) as Record<string, unknown>;
    event.parsed = new WeakRef(object);
  }
  return object;
}
