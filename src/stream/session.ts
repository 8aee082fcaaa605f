import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { KafkaMessage } from '../kafka/records.ts';
import type { DroppedPosition } from '../kafka/start-positions.ts';
import type { StreamFormat } from '../protocol/content-type.ts';
import type { StartPosition } from '../protocol/position.ts';
import { NDJSON_HEARTBEAT, NDJSON_OPENING, SSE_HEARTBEAT, SSE_OPENING, ndjsonLine, sseEvent, sseMessage, sseRetry } from '../sse/frame.ts';
import { decodeMessage } from './event-codec.ts';
import { positionNotice } from './notice.ts';
import { PositionIds } from './position-ids.ts';

export interface SessionOptions {
  format: StreamFormat;
  starts: readonly StartPosition[];
  dropped: readonly DroppedPosition[];
  heartbeatIntervalMs: number;
  /** Messages larger than this are skipped (and logged), never sent. */
  maxMessageBytes: number;
  /** Topics whose canary events reach clients (their stream opted out of the drop). */
  canaryTopics: ReadonlySet<string>;
  log: FastifyBaseLogger;
}

export interface SessionStats {
  eventsSent: number;
  bytesSent: number;
  skipped: number;
}

/**
 * One client's stream: writes the opening, notices, events with their ids, heartbeats, and a
 * proper ending. Waits for the socket to drain so a slow client slows its own reader, not memory.
 */
export class StreamSession {
  readonly stats: SessionStats = { eventsSent: 0, bytesSent: 0, skipped: 0 };
  readonly #res: ServerResponse;
  readonly #options: SessionOptions;
  readonly #ids: PositionIds;
  readonly #heartbeat: NodeJS.Timeout | undefined;
  #lastWrite = Date.now();
  #ended = false;

  constructor(res: ServerResponse, options: SessionOptions) {
    this.#res = res;
    this.#options = options;
    this.#ids = new PositionIds(options.starts);
    // Checking four times per interval keeps the longest silence within 1.25 intervals.
    if (options.heartbeatIntervalMs > 0) {
      this.#heartbeat = setInterval(() => this.#beat(), Math.max(50, Math.floor(options.heartbeatIntervalMs / 4)));
      this.#heartbeat.unref();
    }
    res.once('close', () => this.#stop());
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** The current id: where this client would resume if it reconnected now. */
  get id(): string {
    return this.#ids.toString();
  }

  open(): void {
    const sse = this.#options.format === 'sse';
    this.#write(sse ? SSE_OPENING : NDJSON_OPENING);
    const notice = positionNotice(this.#options.starts, this.#options.dropped);
    // EventSource ignores named events nobody listens for; NDJSON has no room for non-events.
    if (notice !== undefined && sse) this.#write(sseEvent('notice', this.id, notice));
  }

  /** Sends a batch; resolves once the socket can take more. */
  async deliver(batch: readonly KafkaMessage[]): Promise<void> {
    if (this.#ended) return;
    const sse = this.#options.format === 'sse';
    let chunk = '';
    let sent = 0;
    for (const message of batch) {
      this.#ids.advance(message.topic, message.partition, message.offset, message.timestamp);
      const decoded = decodeMessage(message, this.#options.maxMessageBytes);
      if (!decoded.ok) {
        this.stats.skipped++;
        this.#options.log.warn(
          { topic: message.topic, partition: message.partition, offset: message.offset, reason: decoded.reason },
          'skipped a Kafka message that is not a servable event',
        );
        continue;
      }
      if (decoded.canary && !this.#options.canaryTopics.has(message.topic)) continue;
      chunk += sse ? sseMessage(this.id, decoded.data) : ndjsonLine(decoded.data);
      sent++;
    }
    if (chunk === '') return;
    this.stats.eventsSent += sent;
    if (!this.#write(chunk)) await this.#drained();
  }

  /** A partition moved because its position was lost while reading. */
  positionLost(start: StartPosition): void {
    this.#ids.reset(start);
    const notice = positionNotice([start], []);
    if (notice !== undefined && this.#options.format === 'sse' && !this.#ended) this.#write(sseEvent('notice', this.id, notice));
  }

  /** Ends the stream with an `event: error` the client can see; it resumes with its id. */
  fail(name: string, message: string): void {
    if (this.#ended) return;
    if (this.#options.format === 'sse') this.#write(sseEvent('error', this.id, JSON.stringify({ name, message })));
    this.#finish();
  }

  /** Ends the stream cleanly, advising when to reconnect (shutdown, maximum duration). */
  close(retryMs: number): void {
    if (this.#ended) return;
    if (this.#options.format === 'sse') this.#write(sseRetry(retryMs));
    this.#finish();
  }

  #beat(): void {
    if (this.#ended || Date.now() - this.#lastWrite < this.#options.heartbeatIntervalMs) return;
    this.#write(this.#options.format === 'sse' ? SSE_HEARTBEAT : NDJSON_HEARTBEAT);
  }

  #write(text: string): boolean {
    this.#lastWrite = Date.now();
    this.stats.bytesSent += Buffer.byteLength(text);
    return this.#res.write(text);
  }

  #drained(): Promise<void> {
    if (this.#res.destroyed || this.#res.writableEnded) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#res.off('drain', done);
        this.#res.off('close', done);
        resolve();
      };
      this.#res.on('drain', done);
      this.#res.on('close', done);
    });
  }

  #finish(): void {
    this.#stop();
    this.#res.end();
  }

  #stop(): void {
    this.#ended = true;
    clearInterval(this.#heartbeat);
  }
}
