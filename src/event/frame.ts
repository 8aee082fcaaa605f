/**
 * Byte-level framing of the streaming endpoint. `id` and `data` are JSON texts, which never contain
 * raw line breaks, so each fits on one field line as the protocol requires; the line separators
 * that some clients also split at are escaped (`line-separators.ts`).
 */
import { escapeLineSeparators } from './line-separators.ts';

/** First bytes of an SSE stream. */
export const SSE_OPENING = ':ok\n\n';
/** First bytes of an NDJSON stream (EventStreams sends a single newline). */
export const NDJSON_OPENING = '\n';
/** Keeps idle connections (and client read timeouts) alive; `EventSource` ignores comments. */
export const SSE_HEARTBEAT = ':\n\n';
/** NDJSON readers skip blank lines. */
export const NDJSON_HEARTBEAT = '\n';

export function sseEvent(event: string, id: string | undefined, json: string): string {
  const data = escapeLineSeparators(json);
  return id === undefined ? `event: ${event}\ndata: ${data}\n\n` : `event: ${event}\nid: ${id}\ndata: ${data}\n\n`;
}

/**
 * A message event is written in two parts: this per-client head, then the event's data line,
 * encoded once and shared by every client (`dataLine`).
 */
export function sseMessageHead(id: string): string {
  return `event: message\nid: ${id}\n`;
}

export const DATA_PREFIX = 'data: ';
export const DATA_SUFFIX = '\n\n';

export function dataLine(json: string): string {
  return `${DATA_PREFIX}${escapeLineSeparators(json)}${DATA_SUFFIX}`;
}

/**
 * A buffer of exactly `bytes` bytes with memory of its own. Small `Buffer.allocUnsafe`/`Buffer.from`
 * results are slices of Node's shared pool (`Buffer.poolSize`, 64 KiB in Node 24), and a frame kept
 * in the recent-events cache would keep its whole slab (filled by the short-lived write batches of
 * other clients) alive: many times the cache's byte budget (bench/soak.ts, 1,000 clients at 50
 * events/s: 517 MB of buffers after a full GC for 40 MB of cached frames).
 */
export function ownedBuffer(bytes: number): Buffer {
  return Buffer.allocUnsafeSlow(bytes);
}

/** Where a frame's bytes are allocated: `ownedBuffer`, or a `FrameArena`'s `alloc`. */
export type FrameAlloc = (bytes: number) => Buffer;

/**
 * Frames carved out of large buffers of their own, one after the other: for events that are sent
 * and dropped soon after (catch-up and per-connection reads), never for events the cache keeps,
 * since one live frame keeps its whole chunk alive. A buffer per frame (`ownedBuffer`) costs a
 * native allocation and the garbage collector's accounting of external memory per event: the
 * largest single cost of a replay after parsing.
 */
export class FrameArena {
  readonly #chunkBytes: number;
  #chunk: Buffer | undefined;
  #used = 0;
  readonly alloc: FrameAlloc = (bytes) => {
    // Large frames get buffers of their own rather than wasting the rest of a chunk.
    if (bytes > this.#chunkBytes >>> 3) return ownedBuffer(bytes);
    let chunk = this.#chunk;
    if (chunk === undefined || this.#used + bytes > chunk.length) {
      chunk = this.#chunk = ownedBuffer(this.#chunkBytes);
      this.#used = 0;
    }
    const start = this.#used;
    this.#used += bytes;
    return chunk.subarray(start, start + bytes);
  };

  constructor(chunkBytes = 1 << 20) {
    this.#chunkBytes = chunkBytes;
  }
}

/** `dataLine(json)` as UTF-8 in a buffer of its own (`ownedBuffer`): for frames that are cached. */
export function dataLineBuffer(json: string): Buffer {
  const line = dataLine(json);
  const buffer = ownedBuffer(Buffer.byteLength(line));
  buffer.write(line);
  return buffer;
}

/**
 * Moves the client's last event id without dispatching an event: EventSource, npm `eventsource`
 * and requests-sse all keep the `id` of a block that has no `data`.
 */
export function ssePosition(id: string): string {
  return `id: ${id}\n\n`;
}

/** Reconnection advice; a block with only `retry:` dispatches no event. */
export function sseRetry(ms: number): string {
  return `retry: ${Math.max(0, Math.round(ms))}\n\n`;
}
