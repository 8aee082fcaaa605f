import { eventBytes, type PreparedEvent } from '../event/prepared-event.ts';
import type { StartPosition } from '../protocol/position.ts';
import { unrefTimer, type Schedule } from './client-queue.ts';
import { TimeMerge } from './time-merge.ts';

/** What a cursor handed a connection for one partition, held until its turn in time order. */
export type HeldItem =
  | { kind: 'receive' | 'skip'; event: PreparedEvent; consumed: number }
  /** The partition's position was lost: applied after the events held before it. */
  | { kind: 'lost'; start: StartPosition; timestamp: number };

export interface ReplayOrderOptions {
  slots: number;
  /** Bytes of events held per partition before its reader waits (`fanout.replay_lookahead_bytes`). */
  lookaheadBytes: number;
  /** How long a reader waits for a partition behind that delivers nothing (`fanout.replay_order_wait_ms`). */
  waitMs: number;
  /** Hands an item, in its turn, to the client's queue. */
  apply(slot: number, item: HeldItem): void;
  /** Whether the client's queue takes more now (the threshold of its `writable`). */
  hasRoom(): boolean;
  /** Resolves when it does (the queue's `writable`, whose stall timer evicts a client that stopped reading). */
  roomLater(): Promise<void>;
  schedule?: Schedule;
  /** Counts each time the merge goes on without partitions behind (a metric). */
  gaveUp?: () => void;
}

/** A reader waiting for room in the lookahead of its partition. */
interface Waiter {
  slot: number;
  resolve: () => void;
}

const measure = {
  timestamp: (item: HeldItem) => (item.kind === 'lost' ? item.timestamp : item.event.timestamp),
  bytes: (item: HeldItem) => (item.kind === 'lost' ? 96 : eventBytes(item.event)),
};

/**
 * A connection's replay in time order: what its partitions' readers hand it is merged by event
 * time (`TimeMerge`) and applied to its queue as fast as the queue takes it. A reader whose
 * partition holds a full lookahead waits (`room`) until the others catch up with it in time; when
 * a partition that is behind delivers nothing for `waitMs` while another waits (its reader is
 * slow, or held up by another client), the merge goes on without it until it delivers again, so
 * readers never wait on each other for longer. Dropped by its session once every partition has
 * caught up and nothing is held.
 */
export class ReplayOrder {
  readonly #options: ReplayOrderOptions;
  readonly #merge: TimeMerge<HeldItem>;
  readonly #apply: (slot: number, item: HeldItem) => void;
  readonly #schedule: Schedule;
  readonly #force = (): boolean => this.#lagging !== undefined;
  #waiters: Waiter[] = [];
  #cancelWait: (() => void) | undefined;
  /** Partitions the merge gave up waiting for (a reader waited `waitMs`); it goes on without them until one delivers. */
  #lagging: Set<number> | undefined;
  /** A release stopped for room in the client's queue and resumes when it has some. */
  #awaitingRoom = false;
  #closed = false;

  constructor(options: ReplayOrderOptions) {
    this.#options = options;
    this.#merge = new TimeMerge(options.slots, options.lookaheadBytes, measure);
    this.#apply = options.apply;
    this.#schedule = options.schedule ?? unrefTimer;
  }

  /** Every partition caught up and nothing held: the connection needs no merging any more. */
  get done(): boolean {
    return this.#merge.done;
  }

  add(slot: number, item: HeldItem): void {
    // A partition given up on delivered again: wait for the partitions behind as before.
    if (this.#lagging?.has(slot)) this.#lagging = undefined;
    this.#merge.add(slot, item);
    this.#pump();
  }

  /**
   * Holds a lost position of `slot` behind the events held for it, so the id moves in their order;
   * false when none are held (the caller applies it at once).
   */
  lost(slot: number, start: StartPosition): boolean {
    const newest = this.#merge.newest(slot);
    if (newest === undefined) return false;
    this.add(slot, { kind: 'lost', start, timestamp: measure.timestamp(newest) });
    return true;
  }

  /** The partition in `slot` reached the live tail; from here its events come as they are produced. */
  caughtUp(slot: number): void {
    if (this.#lagging?.has(slot)) this.#lagging = undefined;
    this.#merge.caughtUp(slot);
    this.#pump();
  }

  /** Undefined when `slot` may be given more now; else resolves when it may. */
  room(slot: number): Promise<void> | undefined {
    if (this.#closed || this.#merge.room(slot)) return undefined;
    return new Promise((resolve) => {
      this.#waiters.push({ slot, resolve });
      if (this.#options.waitMs === 0) this.#giveUp();
      else this.#arm();
    });
  }

  /** While readers wait, the merge waits `waitMs` at a time for the partitions behind. */
  #arm(): void {
    if (this.#cancelWait !== undefined || this.#waiters.length === 0 || this.#closed) return;
    this.#cancelWait = this.#schedule(this.#options.waitMs, () => {
      this.#cancelWait = undefined;
      this.#giveUp();
      // They may wait for room in the client's queue instead (its stall timer is on that), or for a partition that falls behind later.
      this.#arm();
    });
  }

  /** Goes on without the partitions the merge waits for, until one of them delivers. */
  #giveUp(): void {
    const lagging = new Set<number>();
    for (let slot = 0; slot < this.#options.slots; slot++) if (this.#merge.waitsFor(slot)) lagging.add(slot);
    if (lagging.size > 0) {
      this.#lagging = lagging;
      this.#options.gaveUp?.();
    }
    this.#pump();
  }

  /** The stream ended: waiting readers go on (and find it ended). */
  close(): void {
    this.#closed = true;
    this.#wake();
  }

  #pump(): void {
    if (this.#awaitingRoom || this.#closed) return;
    const finished = this.#merge.release(this.#apply, this.#options.hasRoom, this.#force);
    if (!finished) {
      this.#awaitingRoom = true;
      void this.#options.roomLater().then(() => {
        this.#awaitingRoom = false;
        this.#pump();
      });
    }
    this.#wake();
  }

  /** Readers whose partition has room again go on. */
  #wake(): void {
    if (this.#waiters.length === 0) return;
    const waiting: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (this.#closed || this.#merge.room(waiter.slot)) waiter.resolve();
      else waiting.push(waiter);
    }
    this.#waiters = waiting;
    if (waiting.length === 0) {
      this.#cancelWait?.();
      this.#cancelWait = undefined;
    }
  }
}
