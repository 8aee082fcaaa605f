import type { StartPosition } from '../protocol/position.ts';
import type { PreparedEvent } from './prepared-event.ts';

/** What a cursor hands events to: one client's stream. */
export interface EventSink {
  /** An event at or after the cursor's position, for the partition in slot `slot`. */
  receive(slot: number, event: PreparedEvent): void;
  /** Resolves when the client can take more (backpressure for catch-up reads). */
  writable(): Promise<void>;
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

  constructor(sink: EventSink, slot: number, topic: string, partition: number, next: number) {
    this.sink = sink;
    this.slot = slot;
    this.topic = topic;
    this.partition = partition;
    this.next = next;
  }

  /** Moves past a gap Kafka can no longer fill, and tells the client. */
  jump(to: number, notice: StartPosition['notice']): void {
    if (to <= this.next) return;
    const requested = { topic: this.topic, partition: this.partition, offset: this.next };
    this.next = to;
    this.sink.positionLost({ topic: this.topic, partition: this.partition, offset: to, requested, ...(notice ? { notice } : {}) });
  }

  offer(event: PreparedEvent): void {
    if (event.offset < this.next || this.sink.ended) return;
    this.next = event.offset + 1;
    this.sink.receive(this.slot, event);
  }
}
