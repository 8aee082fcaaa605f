import { monitorEventLoopDelay } from 'node:perf_hooks';

/** A client whose queue the guard may shed. */
export interface Sheddable {
  readonly queuedBytes: number;
  /** Disconnects it as too slow (it resumes with its id). */
  shed(): void;
}

/**
 * Keeps an overloaded process serving the clients it has instead of collapsing: it accounts the
 * output queued for all clients together (a per-client cap times thousands of clients is no bound)
 * and says when to refuse new streams.
 */
export class LoadGuard {
  readonly #limitBytes: number;
  readonly #maxLagMs: number;
  readonly #delay: ReturnType<typeof monitorEventLoopDelay>;
  readonly #timer: NodeJS.Timeout;
  #queued = 0;
  #lagMs = 0;
  /** Clients with a queue worth shedding: the candidates when the budget is exceeded. */
  readonly #queuers = new Set<Sheddable>();

  /** `limitBytes`: output queued for all clients together; `maxLagMs`: event-loop delay (worst in the last second) that counts as overload. */
  constructor(limitBytes: number, maxLagMs: number) {
    this.#limitBytes = limitBytes;
    this.#maxLagMs = maxLagMs;
    this.#delay = monitorEventLoopDelay({ resolution: 20 });
    this.#delay.enable();
    this.#timer = setInterval(() => {
      this.#lagMs = this.#delay.max / 1e6;
      this.#delay.reset();
    }, 1000).unref();
  }

  get queuedBytes(): number {
    return this.#queued;
  }

  get eventLoopLagMs(): number {
    return this.#lagMs;
  }

  /** A session's queue grew (positive) or was written or dropped (negative). */
  queued(bytes: number): void {
    this.#queued += bytes;
  }

  /** A client's queue is worth shedding (true) or was written (false). */
  queuing(client: Sheddable, queuing: boolean): void {
    if (queuing) this.#queuers.add(client);
    else this.#queuers.delete(client);
  }

  /** Over budget: disconnects the clients with the longest queues until it is not. */
  enforce(): void {
    if (this.#queued <= this.#limitBytes) return;
    // One sort, not a scan per client shed: thousands of clients can be over at once.
    const longestFirst = [...this.#queuers].sort((a, b) => b.queuedBytes - a.queuedBytes);
    for (const client of longestFirst) {
      if (this.#queued <= this.#limitBytes) return;
      this.#queuers.delete(client);
      client.shed();
    }
  }

  overBudget(): boolean {
    return this.#queued > this.#limitBytes;
  }

  /**
   * Whether replays may fill clients' queues (up to a quarter of a client's budget each): not past
   * half the budget. Otherwise thousands of clients resuming at once queue their replays until the
   * process sheds them, the replaying clients first (their queues are the longest), and they come
   * back to do it again.
   */
  replaysMayQueue(): boolean {
    return this.#queued <= this.#limitBytes / 2;
  }

  /** New streams are refused while the process is behind or most of the budget is in use. */
  overloaded(): boolean {
    return this.#lagMs > this.#maxLagMs || this.#queued > this.#limitBytes * 0.75;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#delay.disable();
  }
}
