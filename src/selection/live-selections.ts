import { admits } from '../filter/budget.ts';
import type { EventSelection } from './event-selection.ts';
import type { SelectionCandidate } from './selections.ts';

/** A stream's hold on its shared selection, from the moment it opens until it closes. */
export interface SelectionLease {
  readonly selection: EventSelection;
  /** The stream ended; the last lease of a selection drops it and gives its cost back. Idempotent. */
  release(): void;
}

export type Acquired = { ok: true; lease: SelectionLease } | { ok: false; cost: number; spent: number; limit: number };

interface Entry {
  key: string;
  selection: EventSelection;
  cost: number;
  leases: number;
}

/** One per open stream: a small object rather than a closure and its context (bench/results/memory.md). */
class Lease implements SelectionLease {
  readonly #drop: (entry: Entry) => void;
  readonly #entry: Entry;
  #released = false;

  constructor(drop: (entry: Entry) => void, entry: Entry) {
    this.#drop = drop;
    this.#entry = entry;
  }

  get selection(): EventSelection {
    return this.#entry.selection;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#drop(this.#entry);
  }
}

/** Where the counts go (metrics), every time they change. */
export interface LiveSelectionsObserver {
  changed(selections: number, spent: number): void;
}

/**
 * The selections of open streams, shared by every stream with the same key (streams, filter,
 * projection) so each event is tested and encoded once for all of them, and the filter budget they
 * spend. Nothing is kept for a selection no stream holds: no cache, so what this holds is bounded by
 * the open streams in count and by the budget in cost (work per event and bytes).
 */
export class LiveSelections {
  readonly #entries = new Map<string, Entry>();
  readonly #limit: number;
  readonly #observer: LiveSelectionsObserver | undefined;
  #spent = 0;

  /** `limit`: the sum of the costs of distinct live selections (filters.max_total_cost). */
  constructor(limit: number, observer?: LiveSelectionsObserver) {
    this.#limit = limit;
    this.#observer = observer;
  }

  get size(): number {
    return this.#entries.size;
  }

  get spent(): number {
    return this.#spent;
  }

  /**
   * The shared selection for a stream about to open, or the budget refusal: a selection already
   * live costs nothing more; a new one must fit in what is left. Call it as the last step before
   * the stream opens, and release the lease when it closes.
   */
  acquire(candidate: SelectionCandidate): Acquired {
    const { key } = candidate;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      if (!admits(this.#spent, candidate.cost, this.#limit)) return { ok: false, cost: candidate.cost, spent: this.#spent, limit: this.#limit };
      entry = { key, selection: candidate.create(), cost: candidate.cost, leases: 0 };
      this.#entries.set(key, entry);
      this.#spent += entry.cost;
    }
    entry.leases++;
    this.#changed();
    return { ok: true, lease: new Lease(this.#drop, entry) };
  }

  /** A lease of `entry` was released (once per lease): the last one drops it and gives its cost back. One for all leases. */
  readonly #drop = (entry: Entry): void => {
    if (--entry.leases > 0) return;
    this.#entries.delete(entry.key);
    this.#spent -= entry.cost;
    this.#changed();
  };

  #changed(): void {
    this.#observer?.changed(this.#entries.size, this.#spent);
  }
}
