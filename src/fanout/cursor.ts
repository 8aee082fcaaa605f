import type { StartPosition } from '../protocol/position.ts';
import type { IndexHint } from '../filter/compile.ts';
import type { PreparedEvent } from '../event/prepared-event.ts';

/** What a cursor hands events to: one client's stream. */
export interface EventSink {
  /**
   * An event at or after the cursor's position, for the partition in slot `slot`; `consumed`
   * counts it and the events skipped since the last one offered (see `PositionIds.advance`).
   */
  receive(slot: number, event: PreparedEvent, consumed: number): void;
  /** The client consumed the partition up to `event` without being sent it (not for its filter). */
  skip(slot: number, event: PreparedEvent, consumed: number): void;
  /** When set, a live feed offers this client only events with one of these values (its filter needs one). */
  readonly index: IndexHint | undefined;
  /** Clients with the same group are sent the same frames for the same events (their selection). */
  readonly shareGroup?: object;
  /**
   * Resolves when the client can take more of the partition in `slot` (backpressure for catch-up
   * reads): room in its queue, and, while it replays several partitions in time order, room in
   * that partition's lookahead.
   */
  writable(slot: number): Promise<void>;
  /**
   * The partition in `slot` was offered everything up to the live tail: from here its events come
   * as they are produced, so a replay in time order stops waiting for it when it has none.
   */
  caughtUp(slot: number): void;
  /** The partition's position was lost (retention) and reading moved on from `start.offset`. */
  positionLost(start: StartPosition): void;
  /** Reading cannot go on; the stream ends with an error event. */
  fail(name: string, message: string): void;
  readonly ended: boolean;
}

/**
 * One client's position in one partition. Every reader (shared tail, cache replay, catch-up)
 * offers it events; it takes each offset once, in order, so hand-offs between readers can overlap
 * without duplicates.
 */
export class PartitionCursor {
  readonly topic: string;
  readonly partition: number;
  readonly slot: number;
  readonly sink: EventSink;
  /** Next offset this client needs. */
  next: number;
  /** Offered every event of its feed as it is accepted (not indexed, not catching up). */
  live = false;
  /** `seq` of the last live-feed event consumed (undefined after events from other readers). */
  lastSeq: number | undefined = undefined;
  /**
   * Set while an indexed live feed offers this client only some events: the feed's last event,
   * which the client has consumed whether or not it was offered.
   */
  consumedUpTo: (() => PreparedEvent | undefined) | undefined = undefined;

  constructor(sink: EventSink, slot: number, topic: string, partition: number, next: number) {
    this.sink = sink;
    this.slot = slot;
    this.topic = topic;
    this.partition = partition;
    this.next = next;
  }

  /** Resolves when the client can take more of this partition (`EventSink.writable`). */
  writable(): Promise<void> {
    return this.sink.writable(this.slot);
  }

  /** Moves past a gap Kafka can no longer fill, and tells the client. */
  jump(to: number, notice: StartPosition['notice']): void {
    if (to <= this.next) return;
    const requested = { topic: this.topic, partition: this.partition, offset: this.next };
    this.next = to;
    this.sink.positionLost({ topic: this.topic, partition: this.partition, offset: to, requested, ...(notice ? { notice } : {}) });
  }

  offer(event: PreparedEvent): void {
    if (this.#passed(event) || this.sink.ended) return;
    const consumed = this.#consumedUpTo(event);
    this.sink.receive(this.slot, event, consumed);
  }

  /** Moves the client's position past the events its index did not offer it (before its id is read). */
  catchUp(): void {
    const event = this.consumedUpTo?.();
    if (event === undefined || this.#passed(event) || this.sink.ended) return;
    this.sink.skip(this.slot, event, this.#consumedUpTo(event));
  }

  /** An event before this client's position: already had, or before where it started. */
  #passed(event: PreparedEvent): boolean {
    if (event.offset >= this.next) return false;
    // Feed events before its start must not count as consumed by it later.
    if (event.seq !== undefined && this.lastSeq !== undefined && event.seq > this.lastSeq) this.lastSeq = event.seq;
    return true;
  }

  #consumedUpTo(event: PreparedEvent): number {
    const consumed = event.seq !== undefined && this.lastSeq !== undefined ? event.seq - this.lastSeq : 1;
    this.next = event.offset + 1;
    this.lastSeq = event.seq;
    return consumed;
  }
}
