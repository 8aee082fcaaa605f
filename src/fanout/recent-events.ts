import { eventBytes, type PreparedEvent } from '../event/prepared-event.ts';

/**
 * The most recent events of one partition, bounded by bytes. Every offset in
 * [`coveredFrom`, `end`) is either held here or does not exist (control records, compaction), so a
 * client resuming anywhere in that range is served from memory.
 */
export class RecentEvents {
  readonly #budget: number;
  /** Held events from `#head` on; evicted slots before it are emptied at once (see `append`). */
  #events: (PreparedEvent | undefined)[] = [];
  #head = 0;
  #bytes = 0;
  coveredFrom: number;
  /** The offset after the newest event seen. */
  end: number;

  constructor(start: number, budgetBytes: number) {
    this.coveredFrom = start;
    this.end = start;
    this.#budget = budgetBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#events.length - this.#head;
  }

  /** Adds events that continue at `end`; `next` is where the partition continues after them. */
  append(events: readonly PreparedEvent[], next: number): void {
    for (const event of events) {
      this.#events.push(event);
      this.#bytes += eventBytes(event);
    }
    if (next > this.end) this.end = next;
    while (this.#bytes > this.#budget && this.#head < this.#events.length) {
      const evicted = this.#events[this.#head] as PreparedEvent;
      // Emptied now, not at the next compaction: until then the evicted prefix may be as long as
      // what is held, and would double the memory the budget allows.
      this.#events[this.#head++] = undefined;
      this.#bytes -= eventBytes(evicted);
      this.coveredFrom = evicted.offset + 1;
    }
    if (this.#head === this.#events.length) this.coveredFrom = this.end;
    // Reclaim the array's evicted prefix now and then rather than shifting on every eviction.
    if (this.#head > 1024 && this.#head * 2 > this.#events.length) {
      this.#events = this.#events.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Whether a client needing `offset` next can be served from here (or just waits for the tail). */
  covers(offset: number): boolean {
    return offset >= this.coveredFrom;
  }

  /** Held events at or after `offset`, oldest first. */
  *from(offset: number): Generator<PreparedEvent> {
    let lo = this.#head;
    let hi = this.#events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#events[mid] as PreparedEvent).offset < offset) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.#events.length; i++) yield this.#events[i] as PreparedEvent;
  }

  /**
   * The first held offset whose timestamp is >= `timestamp`, when the answer is certainly here:
   * some held event is older than `timestamp` (timestamps rise along a partition). Scans back from
   * the newest, since resumes are mostly recent.
   */
  offsetForTimestamp(timestamp: number): number | undefined {
    let found: number | undefined;
    for (let i = this.#events.length - 1; i >= this.#head; i--) {
      const event = this.#events[i] as PreparedEvent;
      if (event.timestamp < timestamp) return found;
      found = event.offset;
    }
    return undefined;
  }

  /** The newest held event. */
  newest(): PreparedEvent | undefined {
    return this.#head < this.#events.length ? this.#events[this.#events.length - 1] : undefined;
  }

  /** Forgets everything and continues at `offset` (the tail's position was lost). */
  reset(offset: number): void {
    this.#events = [];
    this.#head = 0;
    this.#bytes = 0;
    this.coveredFrom = offset;
    this.end = offset;
  }
}
