import type { LogBounds } from '../kafka/records.ts';
import type { PositionNoticeReason } from '../protocol/position.ts';
import type { PartitionCursor } from './cursor.ts';
import type { PreparedEvent } from '../event/prepared-event.ts';
import { RecentEvents } from './recent-events.ts';
import { SubscriberIndex } from './subscriber-index.ts';

/**
 * One topic-partition read once for all its clients: the shared tail position, the cache of recent
 * events, and the cursors of the clients following it live.
 */
export class PartitionFeed {
  readonly topic: string;
  readonly partition: number;
  readonly cache: RecentEvents;
  /**
   * Live clients offered every event, grouped by what they are sent (`EventSink.shareGroup`), and
   * those offered only what their filter's index selects.
   */
  readonly #live = new Map<object | undefined, Set<PartitionCursor>>();
  #liveCount = 0;
  readonly #indexed = new SubscriberIndex();
  /** `seq` of the last accepted event, and the run of equal timestamps it ends. */
  #seq = 0;
  #lastTimestamp = -1;
  #run = 0;
  /** Cursors still catching up towards this feed; they keep it alive. */
  catchingUp = 0;
  /** High watermark minus tail position at the last fetch. */
  lag = 0;
  /** The partition's bounds as of the last fetch, and when that was (epoch ms). */
  bounds: LogBounds | undefined;
  boundsAt = 0;
  /** When the last cursor left (epoch ms); undefined while it has any. */
  idleSince: number | undefined;

  constructor(topic: string, partition: number, tail: number, cacheBytes: number) {
    this.topic = topic;
    this.partition = partition;
    this.cache = new RecentEvents(tail, cacheBytes);
    this.idleSince = Date.now();
  }

  /** The offset the shared reader fetches next. */
  get tail(): number {
    return this.cache.end;
  }

  /** Clients following it live (offered each event, or those their filter's index selects). */
  get liveClients(): number {
    return this.#liveCount + this.#indexed.size;
  }

  get clients(): number {
    return this.#liveCount + this.#indexed.size + this.catchingUp;
  }

  /**
   * Replays from the cache what the cursor has not seen, at most about `maxBytes` of it, and once
   * nothing is left makes it follow live. `more`: call again when the client has room;
   * `uncached`: the cursor needs offsets older than the cache, from Kafka.
   */
  replay(cursor: PartitionCursor, maxBytes: number): 'live' | 'more' | 'uncached' {
    if (!this.cache.covers(cursor.next)) return 'uncached';
    let bytes = 0;
    for (const event of this.cache.from(cursor.next)) {
      if (bytes >= maxBytes) return 'more';
      cursor.offer(event);
      bytes += event.frame?.length ?? 0;
    }
    // It has consumed everything accepted so far, through whichever reader.
    cursor.lastSeq = this.#seq;
    const hint = cursor.sink.index;
    // A client starting ahead of the tail must see each event to know where it starts: not indexed.
    if (hint === undefined || cursor.next > this.tail) this.#addLive(cursor);
    else this.#indexed.add(cursor, hint);
    this.idleSince = undefined;
    cursor.sink.caughtUp(cursor.slot);
    return 'live';
  }

  leave(cursor: PartitionCursor): void {
    this.#removeLive(cursor);
    this.#indexed.delete(cursor);
    this.#markIdle();
  }

  catchUpStarted(): void {
    this.catchingUp++;
    this.idleSince = undefined;
  }

  catchUpEnded(): void {
    this.catchingUp--;
    this.#markIdle();
  }

  /** New events from the shared reader: cache them and offer them to every live cursor. */
  accept(events: readonly PreparedEvent[], next: number, bounds: LogBounds | undefined): void {
    for (const event of events) {
      event.seq = ++this.#seq;
      this.#run = event.timestamp === this.#lastTimestamp ? this.#run + 1 : 1;
      this.#lastTimestamp = event.timestamp;
      event.tsRun = this.#run;
    }
    this.cache.append(events, next);
    if (bounds !== undefined) {
      this.bounds = bounds;
      this.boundsAt = Date.now();
      this.lag = Math.max(0, bounds.latest - this.cache.end);
    }
    if (events.length === 0) return;
    for (const cursors of this.#live.values()) {
      for (const cursor of cursors) if (cursor.sink.ended) this.#removeLive(cursor);
      // Group by group (a client's state stays hot), event by event within a group (its members
      // find each event's filter result and frame computed by the first of them).
      for (const event of events) for (const cursor of cursors) cursor.offer(event);
    }
    this.#indexed.offer(events);
    this.#markIdle();
  }

  /** The tail's position was lost (retention or truncation): continue at `to` and tell every client. */
  moved(to: number, notice: PositionNoticeReason): void {
    this.#indexed.forget();
    this.cache.reset(to);
    this.#lastTimestamp = -1;
    for (const cursor of [...this.#liveCursors(), ...this.#indexed]) cursor.jump(to, notice);
  }

  /** Reading cannot go on: end every live client's stream. */
  fail(name: string, message: string): void {
    for (const cursor of [...this.#liveCursors(), ...this.#indexed]) {
      cursor.sink.fail(name, message);
      this.leave(cursor);
    }
    this.#markIdle();
  }

  #addLive(cursor: PartitionCursor): void {
    const group = cursor.sink.shareGroup;
    let cursors = this.#live.get(group);
    if (cursors === undefined) {
      cursors = new Set();
      this.#live.set(group, cursors);
    }
    if (!cursors.has(cursor)) this.#liveCount++;
    cursors.add(cursor);
    cursor.live = true;
  }

  #removeLive(cursor: PartitionCursor): void {
    const group = cursor.sink.shareGroup;
    const cursors = this.#live.get(group);
    if (cursors === undefined || !cursors.delete(cursor)) return;
    cursor.live = false;
    this.#liveCount--;
    if (cursors.size === 0) this.#live.delete(group);
  }

  #liveCursors(): PartitionCursor[] {
    return [...this.#live.values()].flatMap((cursors) => [...cursors]);
  }

  #markIdle(): void {
    if (this.clients === 0) this.idleSince ??= Date.now();
  }
}
