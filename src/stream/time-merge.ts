/** What the merge needs to know of an item: its event time and what holding it costs. */
export interface MergeMeasure<T> {
  timestamp(item: T): number;
  bytes(item: T): number;
}

/** One partition's held items, oldest first (an array with a moving head: no shift per item). */
class SlotQueue<T> {
  items: (T | undefined)[] = [];
  head = 0;
  /** The timestamp of the item at `head`, when there is one. */
  headTime = 0;
  bytes = 0;
  /** Everything the partition had when the replay started has been added: it is followed live. */
  caughtUp = false;
  /** Once caught up: the bytes past which its oldest items go without waiting. */
  limit = Infinity;

  get size(): number {
    return this.items.length - this.head;
  }
}

/**
 * Merges the items of several partitions by event time, with a bounded lookahead per partition:
 * the k-way merge of a replay. Each partition's items keep their order (its offsets); across
 * partitions the oldest head goes first, but only once it is certain: every partition still
 * catching up holds an item (its next one cannot be older than its head), or has caught up
 * (its next items are live, newer than any history). Ties go to the lower slot.
 *
 * A partition that holds `lookaheadBytes` or more has no `room` (its reader should wait for the
 * others); a caught-up one cannot wait (live events are not paced), so once it holds a lookahead
 * of them beyond the history it held when it caught up, its oldest items go out without waiting
 * for the partitions that are behind. Pure: no timers, no I/O.
 */
export class TimeMerge<T> {
  readonly lookaheadBytes: number;
  readonly #measure: MergeMeasure<T>;
  readonly #slots: SlotQueue<T>[];
  /** Partitions still catching up: while any of them holds nothing, nothing is certain. */
  #behind: number;
  #behindEmpty: number;
  /** Caught-up partitions holding more than the lookahead. */
  #overflowing = 0;
  #held = 0;

  constructor(slots: number, lookaheadBytes: number, measure: MergeMeasure<T>) {
    this.lookaheadBytes = lookaheadBytes;
    this.#measure = measure;
    this.#slots = Array.from({ length: slots }, () => new SlotQueue<T>());
    this.#behind = slots;
    this.#behindEmpty = slots;
  }

  /** Nothing held and every partition caught up: from here events need no merging. */
  get done(): boolean {
    return this.#behind === 0 && this.#held === 0;
  }

  /** Whether the partition in `slot` may be given more (it holds less than the lookahead). */
  room(slot: number): boolean {
    return (this.#slots[slot]?.bytes ?? 0) < this.lookaheadBytes;
  }

  /** The newest item held for `slot`, if any. */
  newest(slot: number): T | undefined {
    const queue = this.#slots[slot];
    return queue === undefined ? undefined : queue.items[queue.items.length - 1];
  }

  /** Whether the merge waits for the partition in `slot`: it is catching up and holds nothing. */
  waitsFor(slot: number): boolean {
    const queue = this.#slots[slot];
    return queue !== undefined && !queue.caughtUp && queue.size === 0;
  }

  add(slot: number, item: T): void {
    const queue = this.#slots[slot];
    if (queue === undefined) throw new RangeError(`no slot ${slot}`);
    if (queue.size === 0 && !queue.caughtUp) this.#behindEmpty--;
    const wasOver = this.#over(queue);
    if (queue.size === 0) queue.headTime = this.#measure.timestamp(item);
    queue.items.push(item);
    queue.bytes += this.#measure.bytes(item);
    this.#held++;
    if (!wasOver && this.#over(queue)) this.#overflowing++;
  }

  /** The partition in `slot` reached the end of its history; it is not waited for when it holds nothing. */
  caughtUp(slot: number): void {
    const queue = this.#slots[slot];
    if (queue === undefined || queue.caughtUp) return;
    if (queue.size === 0) this.#behindEmpty--;
    this.#behind--;
    queue.caughtUp = true;
    // The history it holds waits its turn; live events get a lookahead of their own.
    queue.limit = queue.bytes + this.lookaheadBytes;
  }

  /**
   * Hands out, oldest first, every item whose turn is certain, while `more()` says the receiver
   * has room; while `force()` says so, also items that wait only for partitions behind that hold nothing.
   * Then, whatever `more()` says, a caught-up partition past its lookahead is brought back within
   * it (oldest heads first). False when it stopped because `more()` said no.
   */
  release(emit: (slot: number, item: T) => void, more: () => boolean, force: () => boolean = () => false): boolean {
    let stopped = false;
    while (this.#held > 0 && (this.#behindEmpty === 0 || force())) {
      if (!more()) {
        stopped = true;
        break;
      }
      this.#pop(emit);
    }
    while (this.#overflowing > 0) this.#pop(emit);
    return !stopped;
  }

  #pop(emit: (slot: number, item: T) => void): void {
    let best = -1;
    let bestTime = Infinity;
    for (let i = 0; i < this.#slots.length; i++) {
      const queue = this.#slots[i]!;
      if (queue.size === 0) continue;
      if (best < 0 || queue.headTime < bestTime) {
        best = i;
        bestTime = queue.headTime;
      }
    }
    const queue = this.#slots[best]!;
    const wasOver = this.#over(queue);
    const item = queue.items[queue.head]!;
    queue.items[queue.head++] = undefined;
    queue.bytes -= this.#measure.bytes(item);
    this.#held--;
    if (queue.size === 0) {
      queue.items = [];
      queue.head = 0;
      queue.bytes = 0;
      if (!queue.caughtUp) this.#behindEmpty++;
    } else {
      if (queue.head > 1024 && queue.head * 2 > queue.items.length) {
        queue.items = queue.items.slice(queue.head);
        queue.head = 0;
      }
      queue.headTime = this.#measure.timestamp(queue.items[queue.head]!);
    }
    if (wasOver && !this.#over(queue)) this.#overflowing--;
    emit(best, item);
  }

  #over(queue: SlotQueue<T>): boolean {
    return queue.bytes > queue.limit;
  }
}
