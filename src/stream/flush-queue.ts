import type { SharedChunk } from '../compress/shared-chunk.ts';

/** Something with queued output for one socket. */
export interface Flushable {
  flush(): void;
}

/** Something that writes the same output to many sockets (a cohort): a slice of them at a time. */
export interface GroupFlushable {
  /** Writes to at most `budget` sockets; returns how many it wrote. */
  flush(budget: number): number;
  /** In the middle of a pass over its sockets: it wants the rest of them written before others get their turn. */
  readonly flushing: boolean;
  /** Makes what it queued its next output: clients written after that, in step with it, find it in their state and join. */
  cut(): void;
}

/** A batch of this pass, and what it holds: chunks with the same ends but other contents are other batches. */
interface Batch {
  readonly chunk: SharedChunk;
  readonly events: number;
  readonly parts: number;
}

/**
 * Socket writes per turn of the event loop. A write to a local socket costs about 15 µs of which
 * most is the kernel's, spent in the ticks after the turn (Node's responses hand theirs over then):
 * a slice of 128 takes about 2 ms, and Kafka's fetch responses and new connections wait at most
 * that, not a whole pass over thousands of clients.
 */
export const SLICE_WRITES = 128;

/** How a flush queue waits for the next turn: Node's `setImmediate` unless a test drives it. */
export type NextTurn = (run: () => void) => void;

const NODE_TURN: NextTurn = (run) => setImmediate(run);

/** Told each pass's duration in seconds, from its first slice to the end of its last (metrics). */
export type PassTimer = (seconds: number) => void;

/**
 * Coalesces writes: everything queued for a client while one fetch is fanned out goes to its
 * socket as one write. Clients in the same state get the same bytes, so each distinct batch is
 * built (and compressed, per coding) once per pass and shared (`shared`).
 *
 * A pass writes every target marked before it began, cohorts first, `SLICE_WRITES` sockets per
 * turn; what is marked meanwhile waits for the next pass. With many clients a pass is long and
 * each client's write carries everything that arrived since its last one, as a server writing
 * the same frames to every socket would: the pass paces itself, with no timer, and the event loop
 * stays free between slices.
 */
export class FlushQueue {
  // Callers mark a target once per pass (they keep a flag): a list, not a set, per client.
  #dirty: Flushable[] = [];
  #groups: GroupFlushable[] = [];
  /** The pass being written, and how far it is. */
  #passDirty: Flushable[] = [];
  #passGroups: GroupFlushable[] = [];
  #dirtyAt = 0;
  #groupsAt = 0;
  /** This pass's batches by the state they lead to (an object key: no string built per client). */
  readonly #batches = new Map<object, Batch[]>();
  #scheduled = false;
  /** When the pass being written began (performance.now()). */
  #passStart = 0;
  readonly #nextTurn: NextTurn;
  readonly #timePass: PassTimer | undefined;

  constructor(nextTurn: NextTurn = NODE_TURN, timePass?: PassTimer) {
    this.#nextTurn = nextTurn;
    this.#timePass = timePass;
  }

  /** Whether groups (cohorts: live clients in step) are marked or in the middle of their pass. */
  get groupsPending(): boolean {
    return this.#groups.length > 0 || this.#groupsAt < this.#passGroups.length;
  }

  mark(target: Flushable): void {
    this.#dirty.push(target);
    this.#schedule();
  }

  /** Marks a group: groups are written before the clients of their pass, which find them in their new state. */
  markGroup(target: GroupFlushable): void {
    this.#groups.push(target);
    this.#schedule();
  }

  /** The batch built this pass from `from` to `to`, holding `events` events in `parts` parts, if any. */
  shared(from: object, to: object, events: number, parts: number): SharedChunk | undefined {
    const batches = this.#batches.get(to);
    if (batches === undefined) return undefined;
    for (const batch of batches) if (batch.chunk.from === from && batch.events === events && batch.parts === parts) return batch.chunk;
    return undefined;
  }

  /** Shares `chunk` (from `chunk.from` to `chunk.to`) for the rest of this pass. */
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
    this.#nextTurn(() => this.#run());
  }

  #run(): void {
    this.#scheduled = false;
    for (const group of this.#groups) group.cut();
    let budget = SLICE_WRITES;
    while (budget > 0) {
      if (this.#groupsAt < this.#passGroups.length) {
        const group = this.#passGroups[this.#groupsAt]!;
        const wrote = group.flush(budget);
        budget -= wrote;
        // One that wrote nothing is done, whatever it says (it may have ended meanwhile).
        if (wrote === 0 || !group.flushing) this.#groupsAt++;
      } else if (this.#dirtyAt < this.#passDirty.length) {
        this.#passDirty[this.#dirtyAt++]!.flush();
        budget--;
      } else if (!this.#nextPass()) return;
    }
    this.#schedule();
  }

  /** Ends the pass written; false when nothing is marked for another. */
  #nextPass(): boolean {
    const passed = this.#passGroups.length > 0 || this.#passDirty.length > 0;
    if (passed) this.#timePass?.((performance.now() - this.#passStart) / 1000);
    this.#batches.clear();
    this.#passGroups.length = 0;
    this.#passDirty.length = 0;
    this.#groupsAt = 0;
    this.#dirtyAt = 0;
    if (this.#groups.length === 0 && this.#dirty.length === 0) return false;
    [this.#passGroups, this.#groups] = [this.#groups, this.#passGroups];
    [this.#passDirty, this.#dirty] = [this.#dirty, this.#passDirty];
    this.#passStart = performance.now();
    return true;
  }
}
