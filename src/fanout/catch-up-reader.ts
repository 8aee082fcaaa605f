import { FrameArena } from '../event/frame.ts';
import type { PreparedEvent } from '../event/prepared-event.ts';
import type { Fetcher, FetchResult } from '../kafka/fetch.ts';
import { runReadLoop } from '../kafka/read-loop.ts';
import { CatchUpPacer } from './catch-up-pacer.ts';
import type { PartitionCursor } from './cursor.ts';
import type { PartitionFeed } from './partition-feed.ts';
import type { ReaderContext } from './tail-reader.ts';

/**
 * Bytes of events handed to one client in one go: a fetch (up to `fanout.catch_up_fetch_bytes`) is
 * delivered in slices of at most this size, each when the pacer gives the reader a turn and its
 * clients have room, so a replay neither overruns a client's budget nor holds up live clients for
 * a whole fetch. A reader with many clients takes smaller slices: one slice times its clients is at
 * most `SLICE_ALL_CLIENTS_BYTES` (a few milliseconds of work).
 */
export const CATCH_UP_SLICE_BYTES = 256 * 1024;
const SLICE_ALL_CLIENTS_BYTES = 1024 * 1024;
const MIN_SLICE_BYTES = 16 * 1024;
/**
 * Milliseconds all catch-up readers together work per turn of the event loop (`CatchUpPacer`):
 * what a live event waits for them at most, beyond one slice. While live clients follow some feed
 * replays yield sooner (`CATCH_UP_TURN_LIVE_MS`): with clients in cohorts the loop is mostly idle,
 * and replays taking all of it pushed live p99 up by 1.7x.
 */
export const CATCH_UP_TURN_MS = 1;
export const CATCH_UP_TURN_LIVE_MS = 0.5;

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
  /** Its events are written and dropped, never cached: their frames share chunks. */
  readonly #arena = new FrameArena();
  /** Next offset this reader fetches (or delivers, while a fetch is being delivered). */
  position: number;
  #done = false;

  readonly #handOff: (cursor: PartitionCursor) => void;
  readonly #pacer: CatchUpPacer;

  /**
   * `handOff` takes each cursor on to the feed once this reader reaches what the feed's cache holds;
   * `fetchBytes`: the most one fetch returns (`fanout.catch_up_fetch_bytes`); `pacer`: shared by
   * the process's catch-up readers (by default one of its own).
   */
  constructor(feed: PartitionFeed, from: number, context: ReaderContext, handOff: (cursor: PartitionCursor) => void, options: { fetchBytes?: number; pacer?: CatchUpPacer } = {}) {
    this.#handOff = handOff;
    this.feed = feed;
    this.position = from;
    this.#context = context;
    this.#fetcher = context.gateway.fetcher(options.fetchBytes);
    this.#pacer = options.pacer ?? new CatchUpPacer(CATCH_UP_TURN_MS);
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
        ready: () => this.#ready(),
        deliver: (result) => this.#deliver(result),
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

  #ready(): Promise<void> {
    return Promise.all([...this.#cursors].map((c) => c.writable())).then(() => undefined);
  }

  /** Hands a fetch's events to the clients, slice by slice, as the pacer and the clients allow. */
  async #deliver(result: FetchResult): Promise<void> {
    const { messages } = result;
    this.#context.metrics.kafkaMessages.inc({ kind: 'catch_up' }, messages.length);
    let from = 0;
    while (from < messages.length) {
      await this.#pacer.turn();
      try {
        for (const cursor of this.#cursors) if (cursor.sink.ended) this.remove(cursor);
        if (this.#done || this.#cursors.size === 0) return;
        const sliceBytes = Math.min(CATCH_UP_SLICE_BYTES, Math.max(MIN_SLICE_BYTES, Math.floor(SLICE_ALL_CLIENTS_BYTES / this.#cursors.size)));
        let to = from;
        let bytes = 0;
        while (to < messages.length && bytes < sliceBytes) bytes += messages[to++]!.value?.length ?? 0;
        this.#offer(messages, from, to);
        // Clients joining from here on need nothing delivered so far.
        this.position = Math.max(this.position, messages[to - 1]!.offset + 1);
        from = to;
      } finally {
        this.#pacer.done();
      }
      this.#handOffIfCaughtUp();
      if (from >= messages.length || this.#done) break;
      await this.#ready();
    }
    this.position = Math.max(this.position, result.next.values().next().value ?? this.position);
    this.#handOffIfCaughtUp();
  }

  #offer(messages: FetchResult['messages'], from: number, to: number): void {
    const prepare = this.#context.prepare;
    const events: PreparedEvent[] = [];
    for (let i = from; i < to; i++) events.push(prepare(messages[i]!, this.#arena.alloc));
    for (const cursor of this.#cursors) for (const event of events) cursor.offer(event);
  }

  #handOffIfCaughtUp(): void {
    if (this.#done) return;
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
