import type { Fetcher } from '../kafka/fetch.ts';
import { runReadLoop } from '../kafka/read-loop.ts';
import type { PartitionCursor } from './cursor.ts';
import type { PartitionFeed } from './partition-feed.ts';
import type { ReaderContext } from './tail-reader.ts';

/**
 * Reads one partition from an offset older than its feed's cache, for one or more clients, until
 * it reaches what the feed holds; then hands every client to the feed, which replays the rest from
 * memory. Paces itself by its slowest client instead of queueing without bound.
 */
export class CatchUpReader {
  readonly feed: PartitionFeed;
  readonly #context: ReaderContext;
  readonly #cursors = new Set<PartitionCursor>();
  readonly #fetcher: Fetcher;
  /** Next offset this reader fetches. */
  position: number;
  #done = false;

  readonly #handOff: (cursor: PartitionCursor) => void;

  /** `handOff` takes each cursor on to the feed once this reader reaches what the feed's cache holds. */
  constructor(feed: PartitionFeed, from: number, context: ReaderContext, handOff: (cursor: PartitionCursor) => void) {
    this.#handOff = handOff;
    this.feed = feed;
    this.position = from;
    this.#context = context;
    this.#fetcher = context.gateway.fetcher();
  }

  get done(): boolean {
    return this.#done;
  }

  add(cursor: PartitionCursor): void {
    this.#cursors.add(cursor);
    this.feed.catchUpStarted();
  }

  remove(cursor: PartitionCursor): void {
    if (this.#cursors.delete(cursor)) this.feed.catchUpEnded();
  }

  async run(): Promise<void> {
    const { metrics } = this.#context;
    metrics.catchUpReaders.inc();
    metrics.catchUpReadersStarted.inc();
    try {
      await runReadLoop(this.#fetcher, this.#context.gateway, {
        positions: () => [{ topic: this.feed.topic, partition: this.feed.partition, offset: this.position }],
        ready: () => Promise.all([...this.#cursors].map((c) => c.sink.writable())).then(() => undefined),
        deliver: (result) => {
          const events = result.messages.map((m) => this.#context.prepare(m));
          metrics.kafkaMessages.inc({ kind: 'catch_up' }, events.length);
          for (const cursor of this.#cursors) for (const event of events) cursor.offer(event);
          this.position = Math.max(this.position, result.next.values().next().value ?? this.position);
          this.#handOffIfCaughtUp();
        },
        moved: (moves) => {
          for (const move of moves) {
            this.position = move.to;
            for (const cursor of this.#cursors) cursor.jump(move.to, move.notice);
          }
          this.#handOffIfCaughtUp();
        },
        retrying: (error, attempt) => this.#context.log.warn({ err: error, attempt, topic: this.feed.topic }, 'catch-up reader: fetch failed; retrying'),
        fatal: (error) => {
          for (const cursor of this.#cursors) cursor.sink.fail('TopicDeleted', error.message);
        },
        fetched: () => metrics.kafkaFetches.inc({ kind: 'catch_up' }),
        prefetch: true,
        closed: () => {
          for (const cursor of this.#cursors) if (cursor.sink.ended) this.remove(cursor);
          return this.#done || this.#cursors.size === 0;
        },
      });
    } finally {
      this.#finish();
      metrics.catchUpReaders.dec();
      await this.#fetcher.close().catch(() => undefined);
    }
  }

  #handOffIfCaughtUp(): void {
    if (!this.feed.cache.covers(this.position)) return;
    const cursors = [...this.#cursors];
    this.#finish();
    for (const cursor of cursors) if (!cursor.sink.ended) this.#handOff(cursor);
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    for (const cursor of [...this.#cursors]) this.remove(cursor);
  }
}
