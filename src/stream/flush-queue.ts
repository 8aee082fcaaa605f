/** Something with queued output to write. */
export interface Flushable {
  flush(): void;
}

/**
 * Coalesces writes: everything queued for a client while one fetch is fanned out goes to its
 * socket as one write, on the next turn of the event loop.
 */
export class FlushQueue {
  readonly #dirty = new Set<Flushable>();
  #scheduled = false;

  mark(target: Flushable): void {
    this.#dirty.add(target);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#run());
  }

  #run(): void {
    this.#scheduled = false;
    for (const target of this.#dirty) target.flush();
    this.#dirty.clear();
  }
}
