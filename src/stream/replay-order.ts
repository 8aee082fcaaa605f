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
  readonly #force = (): boolean => this.#forcing;
  #waiters: Waiter[] = [];
  #cancelWait: (() => void) | undefined;
  /** Releasing without the partitions behind (a reader waited `waitMs`), until they deliver again. */
  #forcing = false;
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

  /** Whether items are held for `slot` (a lost position must then wait its turn behind them). */
  holds(slot: number): boolean {
    return this.#merge.newest(slot) !== undefined;
  }

  add(slot: number, item: HeldItem): void {
    this.#merge.add(slot, item);
    this.#pump();
  }

  /** The item a lost position is held as: right after the partition's newest held item. */
  lost(slot: number, start: StartPosition): HeldItem {
    const newest = this.#merge.newest(slot);
    return { kind: 'lost', start, timestamp: newest === undefined ? -Infinity : measure.timestamp(newest) };
  }

  /** The partition in `slot` reached the live tail; from here its events come as they are produced. */
  caughtUp(slot: number): void {
    this.#merge.caughtUp(slot);
    this.#pump();
  }

  /** Undefined when `slot` may be given more now; else resolves when it may. */
  room(slot: number): Promise<void> | undefined {
    if (this.#closed || this.#merge.room(slot)) return undefined;
    if (this.#cancelWait === undefined && this.#options.waitMs > 0) {
      this.#cancelWait = this.#schedule(this.#options.waitMs, () => {
        this.#cancelWait = undefined;
        this.#forcing = true;
        this.#pump();
      });
    }
    return new Promise((resolve) => {
      this.#waiters.push({ slot, resolve });
      if (this.#options.waitMs === 0) {
        this.#forcing = true;
        this.#pump();
      }
    });
  }

  /** The stream ended: waiting readers go on (and find it ended). */
  close(): void {
    this.#closed = true;
    this.#wake();
  }

  #pump(): void {
    if (this.#awaitingRoom || this.#closed) return;
    const finished = this.#merge.release(this.#apply, this.#options.hasRoom, this.#force);
    if (!this.#merge.blocked) this.#forcing = false;
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
