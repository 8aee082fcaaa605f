/** Compression state that the connections of one group share. */
export interface GroupShare {
  readonly key: string;
  /** Connections using it. */
  refs: number;
  /** Lets go of what it holds outside the heap, if anything. */
  close?(): void;
}

/**
 * The shared compression states of open connections, by group (connections with byte-identical
 * batches): at most `max` at once, each released with the last connection of its group.
 */
export class GroupShares<T extends GroupShare> {
  readonly #max: number;
  readonly #create: (key: string) => T;
  readonly #byKey = new Map<string, T>();

  constructor(max: number, create: (key: string) => T) {
    this.#max = max;
    this.#create = create;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** The group's state, or undefined when `max` are in use: the connection then compresses without one. */
  acquire(key: string): T | undefined {
    let share = this.#byKey.get(key);
    if (share === undefined) {
      if (this.#byKey.size >= this.#max) return undefined;
      share = this.#create(key);
      this.#byKey.set(key, share);
    }
    share.refs++;
    return share;
  }

  release(share: T): void {
    if (--share.refs > 0) return;
    this.#byKey.delete(share.key);
    share.close?.();
  }
}
