import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { PartitionCursor, type EventSink } from '../fanout/cursor.ts';
import { ndjsonLine, type PreparedEvent } from '../event/prepared-event.ts';
import type { DroppedPosition } from '../kafka/start-positions.ts';
import type { StreamFormat } from '../protocol/content-type.ts';
import type { StartPosition } from '../protocol/position.ts';
import { NDJSON_HEARTBEAT, NDJSON_OPENING, SSE_HEARTBEAT, SSE_OPENING, sseEvent, sseMessageHead, ssePosition, sseRetry } from '../event/frame.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { FlushQueue } from './flush-queue.ts';
import type { IndexHint } from '../filter/compile.ts';
import type { EventSelection } from '../selection/event-selection.ts';
import type { LoadGuard, Sheddable } from '../admission/load-guard.ts';
import { positionNotice } from './notice.ts';
import { PositionIds } from './position-ids.ts';

export interface SessionOptions {
  format: StreamFormat;
  starts: readonly StartPosition[];
  dropped: readonly DroppedPosition[];
  /** Which events this client is sent, and in what shape (canaries, filter, projection). */
  selection: EventSelection;
  /** Counts the events its filter kept from this client, per stream of the event's topic. */
  countFiltered: (topic: string) => void;
  /** Queued bytes past which a client that does not keep up is disconnected. */
  backlogBytes: number;
  /**
   * How long a reader waiting for this client to have room (`writable`) waits before the client is
   * disconnected as too slow (it stopped reading, and would hold up a shared catch-up reader); 0 = forever.
   */
  stallMs: number;
  heartbeatIntervalMs: number;
  /**
   * Sessions with the same key (same streams and format) that are in the same position state get
   * byte-identical batches, built once per event-loop turn.
   */
  shareKey: string;
  /** When the server ends this stream with reconnection advice (epoch ms); undefined = never. */
  deadline?: number;
  reconnectDelayMs: number;
  flush: FlushQueue;
  guard: LoadGuard;
  metrics: Metrics;
  log: FastifyBaseLogger;
}

export interface SessionStats {
  eventsSent: number;
  bytesSent: number;
}

/** Why the server ended a stream. */
export type EndReason = 'client_closed' | 'slow_client' | 'overloaded' | 'max_duration' | 'shutdown' | 'error';

/** Bytes in the socket's buffer past which we stop writing and wait for it to drain. */
const SOCKET_HIGH_WATER = 64 * 1024;
/** Queued text that is written at once instead of waiting for the end of the fan-out turn. */
const WRITE_CHUNK = 16 * 1024;
/** Clients queueing more than this are candidates for shedding when the process is over budget. */
const LAGGING_BYTES = 64 * 1024;
/** Time a disconnected slow client gets to take its error event before the socket is destroyed. */
const EVICTION_GRACE_MS = 5000;

/**
 * One client's stream: its cursors (one per partition), its id, and its output. Events are queued
 * and written once per event-loop turn; a client whose queue outgrows its budget is told so with an
 * `event: error` and disconnected (it resumes with its id) instead of growing memory.
 */
export class StreamSession implements EventSink, Sheddable {
  readonly stats: SessionStats = { eventsSent: 0, bytesSent: 0 };
  readonly cursors: PartitionCursor[];
  readonly #res: ServerResponse;
  readonly #options: SessionOptions;
  readonly #ids: PositionIds;
  readonly #sse: boolean;
  /** Output not yet handed to the socket: per-client `event:`/`id:` lines and shared event frames. */
  #pending: (string | Buffer)[] = [];
  #pendingBytes = 0;
  #pendingEvents = 0;
  /** Of `#pendingEvents`, how many per slot: events sent are counted per topic (metrics). */
  readonly #pendingBySlot: Uint32Array;
  #pendingId = '';
  /** The id after the last event handed to the socket: what the client has once it reads it all. */
  #lastWrittenId = '';
  #lastWrite = Date.now();
  #waitingDrain = false;
  #waiters: (() => void)[] = [];
  /** Runs while readers wait for room: disconnects the client if it does not make room in time. */
  #stallTimer: NodeJS.Timeout | undefined;
  #ended = false;
  #endReason: EndReason = 'client_closed';

  constructor(res: ServerResponse, options: SessionOptions) {
    this.#res = res;
    this.#options = options;
    this.#sse = options.format === 'sse';
    this.#ids = new PositionIds(options.starts);
    this.#pendingBySlot = new Uint32Array(options.starts.length);
    this.cursors = options.starts.map((s, slot) => new PartitionCursor(this, slot, s.topic, s.partition, s.offset));
    res.once('close', () => this.#stop('client_closed'));
  }

  get index(): IndexHint | undefined {
    return this.#options.selection.index;
  }

  get shareGroup(): object {
    return this.#options.selection;
  }

  get ended(): boolean {
    return this.#ended;
  }

  get endReason(): EndReason {
    return this.#endReason;
  }

  /** Where this client would resume if it reconnected now (after what is queued). */
  get id(): string {
    return this.#ids.toString();
  }

  open(): void {
    this.#lastWrittenId = this.id;
    this.#write(this.#sse ? SSE_OPENING : NDJSON_OPENING);
    const notice = positionNotice(this.#options.starts, this.#options.dropped);
    // EventSource ignores named events nobody listens for; NDJSON has no room for non-events.
    if (notice !== undefined && this.#sse) this.#write(sseEvent('notice', this.id, notice));
  }

  receive(slot: number, event: PreparedEvent, consumed: number): void {
    this.#ids.advance(slot, event.offset, event.timestamp, consumed, event.tsRun);
    const frame = this.#options.selection.select(event);
    if (typeof frame === 'string') {
      if (frame === 'filtered') this.#options.countFiltered(event.topic);
      return;
    }
    if (this.#sse) {
      this.#pendingId = this.#ids.toString();
      this.#queue(sseMessageHead(this.#pendingId));
      this.#queue(frame);
    } else {
      this.#queue(ndjsonLine(frame));
    }
    this.#pendingEvents++;
    this.#pendingBySlot[slot]!++;
    // A large fetch must not count against a client that reads fine: write as soon as a chunk is
    // ready, so only a congested socket makes the backlog grow.
    if (this.#pendingBytes >= WRITE_CHUNK) this.flush();
    if (this.#backlog() > this.#options.backlogBytes) {
      this.#evict('slow_client');
      return;
    }
    // Past the process-wide budget, the clients with the longest queues go first.
    if (this.#options.guard.overBudget()) this.#options.guard.enforce();
    if (!this.#ended) this.#options.flush.mark(this);
  }

  /** Writes what is queued, unless the socket is still full (then on its next drain). */
  flush(): void {
    if (this.#ended || this.#pendingBytes === 0) return;
    if (this.#res.writableLength >= SOCKET_HIGH_WATER) {
      this.#awaitDrain();
      return;
    }
    const endId = this.#sse ? this.#pendingId : this.#ids.toString();
    // Same streams, same starting position, same events: same bytes, whichever client asks first builds them.
    const key = `${this.#options.shareKey}\u0001${this.#lastWrittenId}\u0001${endId}\u0001${this.#pendingEvents}\u0001${this.#pending.length}`;
    this.#write(this.#options.flush.batch(key, () => encodeBatch(this.#pending, this.#pendingBytes)));
    this.#lastWrittenId = endId;
    this.stats.eventsSent += this.#pendingEvents;
    this.#pendingBySlot.forEach((events, slot) => {
      if (events > 0) this.#options.metrics.countSent(this.cursors[slot]!.topic, events);
    });
    this.#clearPending();
    this.#release();
  }

  skip(slot: number, event: PreparedEvent, consumed: number): void {
    this.#ids.advance(slot, event.offset, event.timestamp, consumed, event.tsRun);
  }

  writable(): Promise<void> {
    if (this.#ended || this.#backlog() < this.#options.backlogBytes / 4) return Promise.resolve();
    this.#awaitDrain();
    // Without this, a client that stopped reading would never be evicted (a paced reader queues
    // nothing more for it) and would hold up every client sharing its catch-up reader.
    if (this.#stallTimer === undefined && this.#options.stallMs > 0) {
      this.#stallTimer = setTimeout(() => {
        this.#stallTimer = undefined;
        if (!this.#ended && this.#waiters.length > 0) this.#evict('slow_client');
      }, this.#options.stallMs);
      this.#stallTimer.unref();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** On the socket's next drain: write what is queued and wake readers waiting for room. */
  #awaitDrain(): void {
    if (this.#waitingDrain) return;
    this.#waitingDrain = true;
    this.#res.once('drain', () => {
      this.#waitingDrain = false;
      this.flush();
      this.#release();
    });
  }

  /** A partition moved because its position was lost while reading. */
  positionLost(start: StartPosition): void {
    if (this.#ended) return;
    this.#ids.reset(start);
    const notice = positionNotice([start], []);
    if (notice === undefined || !this.#sse) return;
    this.#pendingId = this.#ids.toString();
    this.#queue(Buffer.from(sseEvent('notice', this.#pendingId, notice)));
    this.#options.flush.mark(this);
  }

  /** Heartbeat on silence; ends the stream at its deadline. Called by the registry's ticker. */
  tick(now: number): void {
    if (this.#ended) return;
    if (this.#options.deadline !== undefined && now >= this.#options.deadline) {
      this.close(this.#options.reconnectDelayMs, 'max_duration');
      return;
    }
    const interval = this.#options.heartbeatIntervalMs;
    if (interval > 0 && this.#pendingBytes === 0 && now - this.#lastWrite >= interval) {
      for (const cursor of this.cursors) cursor.catchUp();
      const id = this.id;
      // Events skipped since the last one sent (filter, canaries) moved the id: an id-only block
      // updates the client's Last-Event-ID without dispatching an event, so it resumes from here
      // instead of rescanning them.
      if (this.#sse && id !== this.#lastWrittenId) {
        this.#write(ssePosition(id));
        this.#lastWrittenId = id;
      } else {
        this.#write(this.#sse ? SSE_HEARTBEAT : NDJSON_HEARTBEAT);
      }
    }
  }

  /** Ends the stream with an `event: error` the client can see; it resumes with its id. */
  fail(name: string, message: string, reason: EndReason = 'error'): void {
    if (this.#ended) return;
    this.flush();
    if (this.#sse) this.#write(sseEvent('error', this.#lastWrittenId, JSON.stringify({ name, message })));
    this.#finish(reason);
  }

  /** Ends the stream cleanly, advising when to reconnect (shutdown, maximum duration). */
  close(retryMs: number, reason: EndReason = 'shutdown'): void {
    if (this.#ended) return;
    this.flush();
    if (this.#sse) this.#write(sseRetry(retryMs + Math.random() * retryMs));
    this.#finish(reason);
  }

  #evict(reason: 'slow_client' | 'overloaded'): void {
    this.#options.log.warn({ backlogBytes: this.#backlog(), reason }, 'client too slow: disconnecting it');
    // Queued events are dropped; the error carries the id of the last event handed to the socket.
    this.#clearPending();
    if (this.#sse) {
      const message = 'The client did not read events as fast as they arrived; reconnect with Last-Event-ID to resume';
      this.#write(sseEvent('error', this.#lastWrittenId, JSON.stringify({ name: 'SlowClient', message })));
    }
    // Close the connection itself (not just the response) once the error is out, or after a grace period.
    const socket = this.#res.socket;
    this.#stop(reason);
    this.#res.end(() => socket?.destroy());
    setTimeout(() => socket?.destroy(), EVICTION_GRACE_MS).unref();
  }

  #backlog(): number {
    return this.#pendingBytes + this.#res.writableLength;
  }

  get queuedBytes(): number {
    return this.#pendingBytes;
  }

  shed(): void {
    this.#evict('overloaded');
  }

  #queue(chunk: string | Buffer): void {
    this.#pending.push(chunk);
    // Queued strings are id lines: ASCII, one byte per character.
    this.#pendingBytes += chunk.length;
    this.#options.guard.queued(chunk.length);
    if (this.#pendingBytes > LAGGING_BYTES && this.#pendingBytes - chunk.length <= LAGGING_BYTES) this.#options.guard.queuing(this, true);
  }

  #clearPending(): void {
    if (this.#pendingBytes > LAGGING_BYTES) this.#options.guard.queuing(this, false);
    this.#options.guard.queued(-this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#pendingEvents = 0;
    this.#pendingBySlot.fill(0);
  }

  #write(chunk: string | Buffer): void {
    // The client may be gone before its 'close' event arrives; writing would only build an error.
    if (this.#res.destroyed) {
      this.#stop('client_closed');
      return;
    }
    const bytes = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    this.#lastWrite = Date.now();
    this.stats.bytesSent += bytes;
    this.#options.metrics.bytesSent.inc(bytes);
    this.#res.write(chunk);
  }

  #release(): void {
    if (this.#waiters.length === 0) return;
    if (!this.#ended && this.#backlog() >= this.#options.backlogBytes / 4) {
      this.#awaitDrain();
      return;
    }
    const waiters = this.#waiters;
    this.#waiters = [];
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    for (const resolve of waiters) resolve();
  }

  #finish(reason: EndReason): void {
    this.#stop(reason);
    this.#res.end();
  }

  #stop(reason: EndReason): void {
    if (this.#ended) return;
    this.#clearPending();
    this.#ended = true;
    this.#endReason = reason;
    if (reason !== 'client_closed') this.#options.metrics.disconnects.inc({ reason });
    this.#release();
  }
}

/** One buffer from id lines (ASCII, so latin1 is exact and cheapest) and shared frames. */
function encodeBatch(parts: readonly (string | Buffer)[], bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const part of parts) at += typeof part === 'string' ? out.write(part, at, 'latin1') : part.copy(out, at);
  return out;
}
