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

/**
 * Shared state that grows by segments which connections of the group follow one after another (a
 * deflate history, a zstd stream). A connection is at `seq` = the last segment it was sent, -1 for
 * none.
 */
export interface SegmentChain extends GroupShare {
  /** Segments appended so far. */
  seq: number;
  /** Connections at `seq`: while there are some, only they may extend the chain. */
  atHead: number;
  /** Where the last appended chunk led (`SharedChunk.to`): the chunk that leads on from there continues the chain. */
  end: object | undefined;
}

/**
 * Whether a chunk leading from `from` may extend `chain`, sent to a connection at `seq`: a chunk
 * from where the chain ends (whoever offers it first), one a connection at the head offers, or any
 * chunk when no connection is at the head.
 */
export function extendsChain(chain: SegmentChain, seq: number, from: object | undefined): boolean {
  return (from !== undefined && from === chain.end) || seq === chain.seq || chain.atHead === 0;
}

/** Keeps `chain.atHead` as a connection moves from segment `from` to `to` (-1: none). */
export function moveInChain(chain: SegmentChain, from: number, to: number): void {
  if (from === chain.seq && from >= 0) chain.atHead--;
  if (to === chain.seq && to >= 0) chain.atHead++;
}
