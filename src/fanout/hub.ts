import type { FastifyBaseLogger } from 'fastify';
import type { ServiceConfig } from '../config/types.ts';
import type { KafkaClient } from '../kafka/gateway.ts';
import type { OffsetLookup } from '../kafka/start-positions.ts';
import type { Metrics } from '../metrics/registry.ts';
import { partitionKey } from '../protocol/position.ts';
import { CATCH_UP_TURN_LIVE_MS, CATCH_UP_TURN_MS, CatchUpReader } from './catch-up-reader.ts';
import { CatchUpPacer } from './catch-up-pacer.ts';
import { FeedOffsets } from './feed-offsets.ts';
import type { PartitionCursor } from './cursor.ts';
import { PartitionFeed } from './partition-feed.ts';
import type { Sanitizer } from '../sanitize/sanitizer.ts';
import { TailReader, type ReaderContext } from './tail-reader.ts';
import { prepareSanitized, type EventSource, type Subscription } from './source.ts';

/** Cache replay per step: a quarter of the smallest client budget, so a replay never looks slow. */
const REPLAY_SLICE_BYTES = 16 * 1024;
/**
 * Milliseconds all cache replays together work per turn of the event loop. Unpaced, thousands of
 * clients resuming at once replayed in one chain of promise callbacks that held the loop for
 * seconds (measured 3.5 s): no connection was accepted, no live event written meanwhile.
 */
export const CACHE_REPLAY_TURN_MS = 2;
const SWEEP_INTERVAL_MS = 1000;

/**
 * Shared fan-out: each followed partition has one feed, read from Kafka once by the tail reader and
 * cached; clients join a feed directly when their position is recent enough, or through a
 * catch-up reader (shared with clients resuming nearby) when it is older.
 */
export class FanoutHub implements EventSource {
  readonly offsets: OffsetLookup;
  /** Each partition is read at its clients' pace, and a cursor is told when it reaches the live tail. */
  readonly ordersReplay = true;
  readonly #config: ServiceConfig;
  readonly #context: ReaderContext;
  readonly #tail: TailReader;
  readonly #feeds = new Map<string, PartitionFeed>();
  readonly #catchUps = new Map<string, Set<CatchUpReader>>();
  readonly #readerOf = new WeakMap<PartitionCursor, CatchUpReader>();
  /** Catch-up readers running (at most `fanout.maxCatchUpReaders`). */
  #readers = 0;
  /** Cursors waiting for a catch-up reader, first come first served. */
  readonly #queued = new Map<PartitionCursor, PartitionFeed>();
  readonly #sweeper: NodeJS.Timeout;
  /** All catch-up readers together work at most a few milliseconds per turn of the event loop, and wait for live writes. */
  readonly #pacer: CatchUpPacer;
  /** Cache replays get their own budget: they are cheaper than reads from Kafka, and bring clients back to live. */
  readonly #replayPacer = new CatchUpPacer(CACHE_REPLAY_TURN_MS);

  /** `liveWritesPending`: whether live clients' writes wait (replays then yield to them). */
  constructor(gateway: KafkaClient, config: ServiceConfig, sanitizer: Sanitizer, metrics: Metrics, log: FastifyBaseLogger, liveWritesPending: () => boolean = () => false) {
    this.#config = config;
    this.#pacer = new CatchUpPacer(() => (this.#followedLive() ? CATCH_UP_TURN_LIVE_MS : CATCH_UP_TURN_MS), { yieldTo: liveWritesPending });
    this.#context = { gateway, metrics, log, prepare: (message, alloc) => prepareSanitized(message, config.maxEventBytes, sanitizer, metrics, log, alloc) };
    this.#tail = new TailReader(this.#context);
    // A followed partition's bounds are at most one fetch wait (plus slack) old.
    this.offsets = new FeedOffsets(gateway, (key) => this.#feeds.get(key), config.kafka.fetchMaxWaitMs + 1000);
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_INTERVAL_MS).unref();
  }

  subscribe(cursors: readonly PartitionCursor[], ends: ReadonlyMap<string, number>): Subscription {
    const feeds = cursors.map((cursor) => this.#place(cursor, ends.get(partitionKey(cursor.topic, cursor.partition)) ?? cursor.next));
    // One closure per stream (not one per cursor): it is held for the stream's whole life.
    return {
      close: () => {
        for (let i = 0; i < cursors.length; i++) {
          const cursor = cursors[i]!;
          feeds[i]!.leave(cursor);
          this.#readerOf.get(cursor)?.remove(cursor);
          this.#unqueue(cursor);
        }
      },
    };
  }

  async stop(): Promise<void> {
    clearInterval(this.#sweeper);
    await this.#tail.stop();
  }

  /** Puts a cursor on its feed (through the cache or a catch-up reader); returns the feed, which it leaves again. */
  #place(cursor: PartitionCursor, end: number): PartitionFeed {
    const key = partitionKey(cursor.topic, cursor.partition);
    const feed = this.#feed(key, cursor, end);
    const resuming = cursor.next < feed.tail;
    const placed = this.#follow(feed, cursor);
    if (resuming) this.#context.metrics.cacheLookups.inc({ result: placed === 'uncached' ? 'miss' : 'hit' });
    return feed;
  }

  /**
   * Brings a cursor to its feed's live tail: from the cache in slices paced by the client (a big
   * replay must not count as a slow client) and by the turn budget of all cache replays, or
   * through a catch-up reader when the cache no longer holds its position.
   */
  #follow(feed: PartitionFeed, cursor: PartitionCursor): 'live' | 'more' | 'uncached' {
    const first = feed.replay(cursor, REPLAY_SLICE_BYTES);
    if (first === 'uncached') this.#catchUp(feed, cursor);
    if (first !== 'more') return first;
    feed.catchUpStarted();
    void (async () => {
      try {
        for (;;) {
          await cursor.writable();
          if (cursor.sink.ended) return;
          await this.#replayPacer.turn();
          let step: ReturnType<PartitionFeed['replay']>;
          try {
            if (cursor.sink.ended) return;
            step = feed.replay(cursor, REPLAY_SLICE_BYTES);
          } finally {
            this.#replayPacer.done();
          }
          if (step === 'uncached') this.#catchUp(feed, cursor);
          if (step !== 'more') return;
        }
      } finally {
        feed.catchUpEnded();
      }
    })();
    return 'more';
  }

  #feed(key: string, cursor: PartitionCursor, end: number): PartitionFeed {
    let feed = this.#feeds.get(key);
    if (feed === undefined) {
      // A new feed starts at the end; clients starting earlier catch up to it.
      feed = new PartitionFeed(cursor.topic, cursor.partition, Math.max(end, cursor.next), this.#config.fanout.cacheBytesPerPartition);
      this.#feeds.set(key, feed);
      this.#tail.add(feed);
      this.#context.metrics.sharedReaders.set(this.#feeds.size);
    }
    return feed;
  }

  /**
   * Joins a running catch-up reader at most `catchUpShareWindow` offsets behind the cursor, else
   * starts one, or while `maxCatchUpReaders` run queues the cursor until one ends.
   */
  #catchUp(feed: PartitionFeed, cursor: PartitionCursor): void {
    const key = partitionKey(feed.topic, feed.partition);
    // A partition's set is in the map only while it has readers.
    const readers = this.#catchUps.get(key) ?? new Set<CatchUpReader>();
    const from = cursor.next;
    for (const reader of readers) {
      if (!reader.done && reader.position <= from && from - reader.position <= this.#config.fanout.catchUpShareWindow) {
        reader.add(cursor);
        this.#readerOf.set(cursor, reader);
        return;
      }
    }
    if (this.#readers >= this.#config.fanout.maxCatchUpReaders) {
      // Counted as a client of the feed meanwhile, so the feed is not swept.
      this.#queued.set(cursor, feed);
      feed.catchUpStarted();
      this.#context.metrics.catchUpWaiting.set(this.#queued.size);
      return;
    }
    const reader = new CatchUpReader(feed, from, this.#context, (c) => this.#follow(feed, c), { fetchBytes: this.#config.fanout.catchUpFetchBytes, pacer: this.#pacer });
    readers.add(reader);
    this.#catchUps.set(key, readers);
    reader.add(cursor);
    this.#readerOf.set(cursor, reader);
    this.#readers++;
    void reader.run().finally(() => {
      readers.delete(reader);
      if (readers.size === 0) this.#catchUps.delete(key);
      this.#readers--;
      this.#dequeue();
    });
  }

  /** Starts (or shares) readers for the cursors waiting, while there is room. */
  #dequeue(): void {
    for (const [cursor, feed] of this.#queued) {
      if (this.#readers >= this.#config.fanout.maxCatchUpReaders) return;
      this.#unqueue(cursor);
      if (!cursor.sink.ended) this.#catchUp(feed, cursor);
    }
  }

  #unqueue(cursor: PartitionCursor): void {
    const feed = this.#queued.get(cursor);
    if (feed === undefined) return;
    this.#queued.delete(cursor);
    feed.catchUpEnded();
    this.#context.metrics.catchUpWaiting.set(this.#queued.size);
  }

  /** Whether any client follows a feed live (asked once per turn while replays run: feeds are few). */
  #followedLive(): boolean {
    for (const feed of this.#feeds.values()) if (feed.liveClients > 0) return true;
    return false;
  }

  /** Stops feeds nobody has followed for `idleReaderTtlMs`; their caches go with them. */
  #sweep(): void {
    const now = Date.now();
    let cacheBytes = 0;
    for (const [key, feed] of this.#feeds) {
      if (feed.idleSince !== undefined && now - feed.idleSince >= this.#config.fanout.idleReaderTtlMs) {
        this.#tail.remove(feed);
        this.#feeds.delete(key);
        continue;
      }
      cacheBytes += feed.cache.bytes;
    }
    this.#context.metrics.sharedReaders.set(this.#feeds.size);
    this.#context.metrics.cacheBytes.set(cacheBytes);
  }
}
