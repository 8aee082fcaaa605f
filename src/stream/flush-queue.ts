import type { SharedChunk } from '../compress/shared-chunk.ts';

/** Something with queued output to write. */
export interface Flushable {
  flush(): void;
}

/** A batch of this turn, and what it holds: chunks with the same ends but other contents are other batches. */
interface Batch {
  readonly chunk: SharedChunk;
  readonly events: number;
  readonly parts: number;
}

/** A flush that took less than this is followed by the next one as soon as there is something to write. */
const COALESCE_ABOVE_MS = 2;
/** However long flushes take, the next one starts within this. */
const MAX_COALESCE_MS = 100;

/**
 * Coalesces writes: everything queued for a client while one fetch is fanned out goes to its
 * socket as one write, on the next turn of the event loop. Clients in the same state get the same
 * bytes, so each distinct batch is built (and compressed, per coding) once per turn and shared (`shared`).
 *
 * A flush costs a write per client however few events it carries, so with many clients it paces
 * itself: after a flush that took `t` ms the next waits until `t` ms have passed, and each carries
 * the events of that time. Writing then takes at most half of the process's time, events wait at
 * most about two flushes, and with few clients nothing waits at all.
 */
/** How a flush queue tells time and waits: Node's clock and timers unless a test drives them. */
export interface FlushClock {
  now(): number;
  /** Runs `run` after `ms` (0: on the next turn of the event loop). */
  after(ms: number, run: () => void): void;
  /**
   * Runs `run` once the writes made so far in this turn reached the kernel: Node's HTTP responses
   * hand theirs over in the ticks after the turn (one `writev` per response), often the larger
   * part of a flush.
   */
  settled(run: () => void): void;
}

const NODE_CLOCK: FlushClock = {
  now: () => performance.now(),
  after: (ms, run) => {
    if (ms <= 0) setImmediate(run);
    else setTimeout(run, ms);
  },
  // After every tick queued so far, responses' uncorks included.
  settled: (run) => process.nextTick(run),
};

export class FlushQueue {
  // Callers mark a target once per turn (they keep a flag): a list, not a set, per client.
  #dirty: Flushable[] = [];
  /** Flushed before the others: cohorts, so clients flushed after them find them in their new state. */
  #first: Flushable[] = [];
  /** This turn's batches by the state they lead to (an object key: no string built per client). */
  readonly #batches = new Map<object, Batch[]>();
  #scheduled = false;
  /** When the last flush ended and how long it took (ms, `performance.now()`). */
  #lastEnd = 0;
  #lastTook = 0;
  readonly #clock: FlushClock;

  constructor(clock: FlushClock = NODE_CLOCK) {
    this.#clock = clock;
  }

  mark(target: Flushable, first = false): void {
    (first ? this.#first : this.#dirty).push(target);
    this.#schedule();
  }

  /** The batch built this turn from `from` to `to`, holding `events` events in `parts` parts, if any. */
  shared(from: object, to: object, events: number, parts: number): SharedChunk | undefined {
    const batches = this.#batches.get(to);
    if (batches === undefined) return undefined;
    for (const batch of batches) if (batch.chunk.from === from && batch.events === events && batch.parts === parts) return batch.chunk;
    return undefined;
  }

  /** Shares `chunk` (from `chunk.from` to `chunk.to`) for the rest of this turn. */
  share(chunk: SharedChunk, events: number, parts: number): void {
    const to = chunk.to ?? chunk;
    const batches = this.#batches.get(to);
    if (batches === undefined) this.#batches.set(to, [{ chunk, events, parts }]);
    else batches.push({ chunk, events, parts });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    const wait = this.#lastTook < COALESCE_ABOVE_MS ? 0 : this.#lastEnd + this.#lastTook - this.#clock.now();
    this.#clock.after(Math.min(wait, MAX_COALESCE_MS), () => this.#run());
  }

  #run(): void {
    const start = this.#clock.now();
    this.#scheduled = false;
    const first = this.#first;
    const dirty = this.#dirty;
    this.#first = [];
    this.#dirty = [];
    for (const target of first) target.flush();
    for (const target of dirty) target.flush();
    this.#batches.clear();
    this.#clock.settled(() => {
      this.#lastEnd = this.#clock.now();
      this.#lastTook = this.#lastEnd - start;
    });
  }
}
