import type { KafkaMessage } from '../kafka/records.ts';
import { DATA_PREFIX, DATA_SUFFIX } from './frame.ts';
import { encodeEvent, type SkipReason } from './codec.ts';

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
}

export function prepareEvent(message: KafkaMessage, maxBytes: number): PreparedEvent {
  const { topic, partition, offset, timestamp } = message;
  const encoded = encodeEvent(message, maxBytes);
  if (!encoded.ok) return { topic, partition, offset, timestamp, canary: false, skip: encoded.reason };
  return { topic, partition, offset, timestamp, frame: encoded.frame, canary: encoded.canary };
}

/** `<json>\n`: the event as a newline-delimited JSON line, sharing the SSE frame's bytes. */
export function ndjsonLine(frame: Buffer): Buffer {
  return frame.subarray(DATA_PREFIX.length, frame.length - DATA_SUFFIX.length + 1);
}

/** The event's JSON text (tests, logs). */
export function eventJson(event: PreparedEvent): string | undefined {
  return event.frame?.toString('utf8', DATA_PREFIX.length, event.frame.length - DATA_SUFFIX.length);
}

/** Approximate memory of an event, for cache budgets. */
export function eventBytes(event: PreparedEvent): number {
  return 96 + (event.frame?.length ?? 0);
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
