/**
 * Shares the event loop between catch-up readers and everything else: all readers together work at
 * most their budget per turn of the event loop (preparing events and handing them to their clients),
 * so a live event waits behind at most that much replay work (plus one slice) however many replays
 * run, and a replay gets the rest of an idle loop. A reader asks for a `turn` before each slice and
 * says when it is done (`done`); past the budget the next reader goes on in the next turn of the
 * event loop, one after the other in the order they asked.
 */
export class CatchUpPacer {
  /** This turn's budget. */
  #budgetMs: number;
  readonly #budget: () => number;
  readonly #now: () => number;
  /** Time spent by readers in the current turn. */
  #spentMs = 0;
  /** When the reader holding the turn started; undefined when none does. */
  #startedAt: number | undefined;
  readonly #waiting: (() => void)[] = [];
  #scheduled = false;

  /** `budget`: milliseconds per turn, or asked at the start of each turn. */
  constructor(budget: number | (() => number), now: () => number = () => performance.now()) {
    this.#budget = typeof budget === 'number' ? () => budget : budget;
    this.#budgetMs = this.#budget();
    this.#now = now;
  }

  /** Resolves when the caller may work on its next slice; it must call `done` after, in any case. */
  turn(): Promise<void> {
    this.#schedule();
    if (this.#startedAt === undefined && this.#waiting.length === 0 && this.#spentMs < this.#budgetMs) {
      this.#startedAt = this.#now();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** The slice of the current `turn` is handed out (or was given up). */
  done(): void {
    if (this.#startedAt !== undefined) this.#spentMs += this.#now() - this.#startedAt;
    this.#startedAt = undefined;
    // Time left in this turn: the next reader goes on now.
    if (this.#spentMs < this.#budgetMs) this.#next();
  }

  #next(): void {
    const resolve = this.#waiting.shift();
    if (resolve === undefined) return;
    this.#startedAt = this.#now();
    resolve();
  }

  /** The budget starts over at the next turn of the event loop, after the I/O that waited meanwhile. */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#spentMs = 0;
      this.#budgetMs = this.#budget();
      if (this.#startedAt === undefined) this.#next();
      if (this.#startedAt !== undefined || this.#waiting.length > 0) this.#schedule();
    });
  }
}
