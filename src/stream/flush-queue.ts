import type { SharedChunk } from '../compress/shared-chunk.ts';

/** Something with queued output to write. */
export interface Flushable {
  flush(): void;
}

/**
 * Coalesces writes: everything queued for a client while one fetch is fanned out goes to its
 * socket as one write, on the next turn of the event loop. Clients in the same state get the same
 * bytes, so each distinct batch is built (and compressed, per coding) once per turn and shared (`batch`).
 */
export class FlushQueue {
  readonly #dirty = new Set<Flushable>();
  readonly #batches = new Map<string, SharedChunk>();
  #scheduled = false;

  mark(target: Flushable): void {
    this.#dirty.add(target);
    this.#schedule();
  }

  /** The batch built for `key` this turn, or a new one from `build`. */
  batch(key: string, build: () => SharedChunk): SharedChunk {
    let chunk = this.#batches.get(key);
    if (chunk === undefined) {
      chunk = build();
      this.#batches.set(key, chunk);
      this.#schedule();
    }
    return chunk;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#run());
  }

  #run(): void {
    this.#scheduled = false;
    for (const target of this.#dirty) target.flush();
    this.#dirty.clear();
    this.#batches.clear();
  }
}
