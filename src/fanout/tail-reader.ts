import type { FastifyBaseLogger } from 'fastify';
import type { Fetcher, FetchResult } from '../kafka/fetch.ts';
import type { KafkaClient } from '../kafka/gateway.ts';
import type { KafkaMessage } from '../kafka/records.ts';
import { runReadLoop, type PositionMove } from '../kafka/read-loop.ts';
import type { Metrics } from '../metrics/registry.ts';
import { partitionKey } from '../protocol/position.ts';
import type { PartitionFeed } from './partition-feed.ts';
import type { PreparedEvent } from '../event/prepared-event.ts';
import type { FrameAlloc } from '../event/frame.ts';

export interface ReaderContext {
  gateway: KafkaClient;
  metrics: Metrics;
  log: FastifyBaseLogger;
  /**
   * Decodes and sanitizes a message once, logging and counting it when it cannot be served.
   * `alloc`: where its frame goes; by default a buffer of its own, as cached events need.
   */
  prepare(message: KafkaMessage, alloc?: FrameAlloc): PreparedEvent;
}

/**
 * The one reader of every partition's live tail: a single fetch loop over all feeds, so Kafka
 * traffic depends on the partitions being followed, not on the number of clients.
 */
export class TailReader {
  readonly #context: ReaderContext;
  readonly #feeds = new Map<string, PartitionFeed>();
  readonly #fetcher: Fetcher;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(context: ReaderContext) {
    this.#context = context;
    this.#fetcher = context.gateway.fetcher();
  }

  add(feed: PartitionFeed): void {
    this.#feeds.set(partitionKey(feed.topic, feed.partition), feed);
    this.#fetcher.track(feed.topic);
    this.#start();
  }

  remove(feed: PartitionFeed): void {
    if (!this.#feeds.delete(partitionKey(feed.topic, feed.partition))) return;
    this.#fetcher.untrack(feed.topic);
    this.#context.metrics.sharedReaderLag.remove({ topic: feed.topic, partition: String(feed.partition) });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#fetcher.close().catch(() => undefined);
    await this.#running;
  }

  #start(): void {
    if (this.#running !== undefined || this.#stopped) return;
    this.#running = runReadLoop(this.#fetcher, this.#context.gateway, {
      positions: () => [...this.#feeds.values()].map((f) => ({ topic: f.topic, partition: f.partition, offset: f.tail })),
      deliver: (result) => this.#deliver(result),
      moved: (moves) => this.#moved(moves),
      retrying: (error, attempt) => this.#context.log.warn({ err: error, attempt }, 'shared Kafka reader: fetch failed; retrying'),
      fatal: () => this.#dropVanishedTopics(),
      fetched: () => this.#context.metrics.kafkaFetches.inc({ kind: 'live' }),
      closed: () => this.#stopped || this.#feeds.size === 0,
    }).finally(() => {
      this.#running = undefined;
      if (this.#feeds.size > 0 && !this.#stopped) this.#start();
    });
  }

  #deliver(result: FetchResult): void {
    const byFeed = new Map<string, PreparedEvent[]>();
    const now = Date.now();
    for (const message of result.messages) {
      // A producer's clock may run ahead of ours: that is no delay.
      this.#context.metrics.liveEventAge.observe(Math.max(0, now - message.timestamp) / 1000);
      const key = partitionKey(message.topic, message.partition);
      const list = byFeed.get(key) ?? [];
      list.push(this.#context.prepare(message));
      byFeed.set(key, list);
    }
    this.#context.metrics.kafkaMessages.inc({ kind: 'live' }, result.messages.length);
    for (const [key, bounds] of result.bounds) {
      const feed = this.#feeds.get(key);
      if (feed === undefined) continue;
      const next = result.next.get(key) ?? 0;
      feed.accept(byFeed.get(key) ?? [], next, bounds);
      this.#context.metrics.sharedReaderLag.set({ topic: feed.topic, partition: String(feed.partition) }, Math.max(0, bounds.latest - next));
    }
  }

  #moved(moves: PositionMove[]): void {
    for (const move of moves) {
      this.#context.log.warn({ topic: move.topic, partition: move.partition, from: move.offset, to: move.to }, 'shared reader position lost');
      this.#feeds.get(partitionKey(move.topic, move.partition))?.moved(move.to, move.notice);
    }
  }

  /** A topic vanished: end the streams of its feeds; the loop restarts for the others. */
  async #dropVanishedTopics(): Promise<void> {
    const topics = [...new Set([...this.#feeds.values()].map((f) => f.topic))];
    // Fresh metadata: the cached one still lists the deleted topic, and every fetch of the others would fail meanwhile.
    const existing = await this.#context.gateway.partitionCounts(topics, true).catch(() => undefined);
    // Kafka did not answer: end nothing; the loop restarts and finds out again.
    if (existing === undefined) return;
    for (const [key, feed] of this.#feeds) {
      if (existing.has(feed.topic)) continue;
      this.#context.log.error({ topic: feed.topic }, 'topic no longer exists: ending its streams');
      feed.fail('TopicDeleted', `Topic ${feed.topic} no longer exists in Kafka`);
      this.#feeds.delete(key);
      this.#fetcher.untrack(feed.topic);
    }
  }
}
