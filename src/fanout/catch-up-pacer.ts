/**
 * Shares the event loop between catch-up readers and everything else: all readers together hand at
 * most `budgetBytes` of events to their clients (bytes × clients) per turn of the event loop, so
 * live clients wait behind at most that much replay work however many replays run. A reader asks
 * for a `turn` before each slice and reports what it handed out (`spent`); past the budget the next
 * reader goes on in the next turn of the event loop, one after the other in the order they asked.
 */
export class CatchUpPacer {
  readonly budgetBytes: number;
  /** Bytes handed out in the current turn. */
  #spent = 0;
  /** A reader is between `turn` and `spent`. */
  #busy = false;
  readonly #waiting: (() => void)[] = [];
  #scheduled = false;

  constructor(budgetBytes: number) {
    this.budgetBytes = budgetBytes;
  }

  /** Resolves when the caller may hand out its next slice; it must call `spent` after, in any case. */
  turn(): Promise<void> {
    if (!this.#busy && this.#waiting.length === 0 && this.#spent < this.budgetBytes) {
      this.#busy = true;
      this.#schedule();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#schedule();
    });
  }

  /** The slice of the current `turn` handed out `bytes` (0 when it handed out nothing). */
  spent(bytes: number): void {
    this.#spent += bytes;
    this.#busy = false;
    // Room left in this turn: the next reader goes on now.
    if (this.#spent < this.budgetBytes) this.#next();
  }

  #next(): void {
    const resolve = this.#waiting.shift();
    if (resolve === undefined) return;
    this.#busy = true;
    resolve();
  }

  /** The budget starts over at the next turn of the event loop, after the I/O that waited meanwhile. */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#spent = 0;
      if (!this.#busy) this.#next();
      if (this.#busy || this.#waiting.length > 0) this.#schedule();
    });
  }
}
