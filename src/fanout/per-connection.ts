import type { FastifyBaseLogger } from 'fastify';
import type { KafkaClient } from '../kafka/gateway.ts';
import { runReadLoop } from '../kafka/read-loop.ts';
import type { OffsetLookup } from '../kafka/start-positions.ts';
import type { Metrics } from '../metrics/registry.ts';
import { partitionKey } from '../protocol/position.ts';
import type { PartitionCursor } from './cursor.ts';
import type { KafkaMessage } from '../kafka/records.ts';
import type { Sanitizer } from '../sanitize/sanitizer.ts';
import { prepareSanitized, type EventSource, type Subscription } from './source.ts';
import type { PreparedEvent } from '../event/prepared-event.ts';
import { FrameArena, type FrameAlloc } from '../event/frame.ts';

/**
 * How EventStreams reads Kafka: one reader per connection, every event decoded per client. Kept
 * (config `fanout.mode: per_connection`) so benchmarks can compare it with the shared design.
 */
export class PerConnectionSource implements EventSource {
  readonly offsets: OffsetLookup;
  /** One fetch loop reads all of a connection's partitions: none can wait for the others. */
  readonly ordersReplay = false;
  readonly #gateway: KafkaClient;
  readonly #metrics: Metrics;
  readonly #log: FastifyBaseLogger;
  readonly #prepare: (message: KafkaMessage, alloc: FrameAlloc) => PreparedEvent;

  constructor(gateway: KafkaClient, maxEventBytes: number, sanitizer: Sanitizer, metrics: Metrics, log: FastifyBaseLogger) {
    this.#gateway = gateway;
    this.offsets = gateway;
    this.#metrics = metrics;
    this.#log = log;
    // Every client decodes and sanitizes every event itself, as EventStreams does.
    this.#prepare = (message, alloc) => prepareSanitized(message, maxEventBytes, sanitizer, metrics, log, alloc);
  }

  subscribe(cursors: readonly PartitionCursor[]): Subscription {
    const fetcher = this.#gateway.fetcher();
    fetcher.track(...new Set(cursors.map((c) => c.topic)));
    const byKey = new Map(cursors.map((c) => [partitionKey(c.topic, c.partition), c]));
    let closed = false;
    const sinks = [...new Set(cursors.map((c) => c.sink))];
    // Its frames are written and dropped, never cached: carved out of shared chunks.
    const arena = new FrameArena();
    void runReadLoop(fetcher, this.#gateway, {
      positions: () => cursors.map((c) => ({ topic: c.topic, partition: c.partition, offset: c.next })),
      ready: () => Promise.all(cursors.map((c) => c.writable())).then(() => undefined),
      deliver: (result) => {
        this.#metrics.kafkaMessages.inc({ kind: 'per_connection' }, result.messages.length);
        for (const message of result.messages) byKey.get(partitionKey(message.topic, message.partition))?.offer(this.#prepare(message, arena.alloc));
        // Control batches move a partition without any message to offer.
        for (const [key, next] of result.next) {
          const cursor = byKey.get(key);
          if (cursor !== undefined && next > cursor.next) cursor.next = next;
        }
      },
      moved: (moves) => {
        for (const move of moves) byKey.get(partitionKey(move.topic, move.partition))?.jump(move.to, move.notice);
      },
      retrying: (error, attempt) => this.#log.warn({ err: error, attempt }, 'Kafka fetch failed; retrying'),
      fatal: (error) => {
        for (const sink of sinks) sink.fail('TopicDeleted', error.message);
      },
      fetched: () => this.#metrics.kafkaFetches.inc({ kind: 'per_connection' }),
      prefetch: true,
      closed: () => closed || sinks.every((s) => s.ended),
    }).finally(() => fetcher.close().catch(() => undefined));
    return {
      close: () => {
        closed = true;
        void fetcher.close().catch(() => undefined);
      },
    };
  }

  async stop(): Promise<void> {}
}
