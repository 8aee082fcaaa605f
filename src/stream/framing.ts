import { NDJSON_HEARTBEAT, NDJSON_OPENING, SSE_HEARTBEAT, SSE_OPENING, sseEvent, sseMessageHead, ssePosition, sseRetry } from '../event/frame.ts';
import { ndjsonLine } from '../event/prepared-event.ts';
import type { StreamFormat } from '../protocol/content-type.ts';

/**
 * How one connection lays out its stream, chosen once per connection. An event's bytes are its
 * shared frame (`PreparedEvent.frame`, or a view of it), never a copy; a framing only adds what is
 * per client around it. Blocks a format has no room for are undefined. A compressed variant wraps
 * the writer instead, so batches stay shared across clients up to each client's own compressor.
 */
export interface Framing {
  /** First bytes of the stream. */
  readonly opening: string;
  /** Written on silence: keeps idle connections (and client read timeouts) alive. */
  readonly heartbeat: string;
  /**
   * The per-client head written before an event, carrying the client's id after it; undefined when
   * the format carries no ids, so the id is not even built for every event.
   */
  readonly messageHead: ((id: string) => string) | undefined;
  /** What follows the head: the event's shared frame, or a view of it. */
  messageBody(frame: Buffer): Buffer;
  /** Positions that were not honoured exactly (`positionNotice`), at the client's id `id`. */
  notice(id: string, json: string): string | undefined;
  /** The error a stream ends with; `id` is the last one handed to the client. */
  error(id: string, name: string, message: string): string | undefined;
  /** Reconnection advice. */
  retry(ms: number): string | undefined;
  /** Moves the client's id without dispatching an event. */
  position(id: string): string | undefined;
}

const SSE: Framing = {
  opening: SSE_OPENING,
  heartbeat: SSE_HEARTBEAT,
  messageHead: sseMessageHead,
  messageBody: (frame) => frame,
  // EventSource ignores named events nobody listens for.
  notice: (id, json) => sseEvent('notice', id, json),
  error: (id, name, message) => sseEvent('error', id, JSON.stringify({ name, message })),
  retry: sseRetry,
  position: ssePosition,
};

/** NDJSON has room for events only: every line is one. */
const NDJSON: Framing = {
  opening: NDJSON_OPENING,
  heartbeat: NDJSON_HEARTBEAT,
  messageHead: undefined,
  messageBody: ndjsonLine,
  notice: () => undefined,
  error: () => undefined,
  retry: () => undefined,
  position: () => undefined,
};

export function framingFor(format: StreamFormat): Framing {
  return format === 'sse' ? SSE : NDJSON;
}
