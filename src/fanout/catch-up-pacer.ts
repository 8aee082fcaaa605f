/** What the pacer yields to, and how it reads the clock. */
export interface PacerOptions {
  now?: () => number;
  /**
   * True while live clients' writes wait (a cohort pass in progress): readers then get no turn,
   * except one every `starvationMs`, so live events never queue behind replays on a busy loop.
   */
  yieldTo?: () => boolean;
  starvationMs?: number;
}

/**
 * Replays still move while live writes keep the loop busy: one turn at least this often
 * (a live event then waits for at most one budget of replay work per this interval).
 */
export const STARVATION_MS = 20;

/**
 * Shares the event loop between catch-up readers and everything else: all readers together work at
 * most their budget per turn of the event loop (preparing events and handing them to their clients),
 * so a live event waits behind at most that much replay work (plus one slice) however many replays
 * run, and a replay gets the rest of an idle loop. While live clients' writes wait (`yieldTo`),
 * readers wait for them. A reader asks for a `turn` before each slice and says when it is done
 * (`done`); past the budget the next reader goes on in the next turn of the event loop, one after
 * the other in the order they asked.
 */
export class CatchUpPacer {
  /** This turn's budget. */
  #budgetMs: number;
  readonly #budget: () => number;
  readonly #now: () => number;
  readonly #yieldTo: () => boolean;
  readonly #starvationMs: number;
  /** Time spent by readers in the current turn. */
  #spentMs = 0;
  /** When the reader holding the turn started; undefined when none does. */
  #startedAt: number | undefined;
  /** When a reader last got a turn. */
  #grantedAt = -Infinity;
  readonly #waiting: (() => void)[] = [];
  #scheduled = false;

  /** `budget`: milliseconds per turn, or asked at the start of each turn. */
  constructor(budget: number | (() => number), options: PacerOptions = {}) {
    this.#budget = typeof budget === 'number' ? () => budget : budget;
    this.#budgetMs = this.#budget();
    this.#now = options.now ?? (() => performance.now());
    this.#yieldTo = options.yieldTo ?? (() => false);
    this.#starvationMs = options.starvationMs ?? STARVATION_MS;
  }

  /** Resolves when the caller may work on its next slice; it must call `done` after, in any case. */
  turn(): Promise<void> {
    this.#schedule();
    if (this.#startedAt === undefined && this.#waiting.length === 0 && this.#open()) {
      this.#grant();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** The slice of the current `turn` is handed out (or was given up). */
  done(): void {
    if (this.#startedAt !== undefined) this.#spentMs += this.#now() - this.#startedAt;
    this.#startedAt = undefined;
    // Time left in this turn: the next reader goes on now.
    if (this.#open()) this.#next();
  }

  /** Whether a reader may start a slice now. */
  #open(): boolean {
    if (this.#spentMs >= this.#budgetMs) return false;
    return !this.#yieldTo() || this.#now() - this.#grantedAt >= this.#starvationMs;
  }

  #grant(): void {
    this.#startedAt = this.#now();
    this.#grantedAt = this.#startedAt;
  }

  #next(): void {
    const resolve = this.#waiting.shift();
    if (resolve === undefined) return;
    this.#grant();
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
      if (this.#startedAt === undefined && this.#open()) this.#next();
      if (this.#startedAt !== undefined || this.#waiting.length > 0) this.#schedule();
    });
  }
}
