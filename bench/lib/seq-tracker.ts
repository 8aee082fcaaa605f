/** Which `bench.seq` values one client received, and how often (saturating at 255). */
export class SeqTracker {
  #base = -1;
  #counts = new Uint8Array(0);
  min = Infinity;
  max = -Infinity;

  add(seq: number): void {
    if (seq < 0) return;
    if (this.#base < 0) {
      this.#base = Math.max(0, seq - 1024);
      this.#counts = new Uint8Array(4096);
    }
    if (seq < this.#base) {
      // Rare: an older event than any seen (another partition); shift the window down.
      const newBase = Math.max(0, seq - 1024);
      const grown = new Uint8Array(this.#counts.length + (this.#base - newBase));
      grown.set(this.#counts, this.#base - newBase);
      this.#counts = grown;
      this.#base = newBase;
    }
    const i = seq - this.#base;
    if (i >= this.#counts.length) {
      let size = this.#counts.length * 2;
      while (size <= i) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#counts);
      this.#counts = grown;
    }
    const c = this.#counts[i]!;
    if (c < 255) this.#counts[i] = c + 1;
    if (seq < this.min) this.min = seq;
    if (seq > this.max) this.max = seq;
  }

  count(seq: number): number {
    const i = seq - this.#base;
    if (this.#base < 0 || i < 0 || i >= this.#counts.length) return 0;
    return this.#counts[i]!;
  }

  /**
   * Seqs of [from, to] (skipping `exclude`: seqs whose production failed, and those `wanted`
   * rejects: not for the client's filter) never received, split
   * into holes (below the highest seq received from the same partition: lost, the stream went on
   * past them) and behind (above it: not received YET, the client lags), and seqs received more
   * than once.
   */
  check(
    from: number,
    to: number,
    exclude: ReadonlySet<number>,
    stride = 1,
    wanted: (seq: number) => boolean = () => true,
  ): { holes: number; behind: number; duplicates: number; firstHole: number; firstDuplicate: number } {
    // Seqs are spread over `stride` partitions (seq % stride), each read at its own pace: a seq
    // is a hole only below the highest seq received from ITS partition.
    const maxOf: number[] = [];
    for (let r = 0; r < stride; r++) {
      let m = -1;
      for (let s = this.max; s >= 0 && s >= this.#base; s--) {
        if (s % stride === r && this.count(s) > 0) {
          m = s;
          break;
        }
      }
      maxOf.push(m);
    }
    let holes = 0;
    let behind = 0;
    let duplicates = 0;
    let firstHole = -1;
    let firstDuplicate = -1;
    for (let s = from; s <= to; s++) {
      if (exclude.has(s) || !wanted(s)) continue;
      const c = this.count(s);
      if (c === 0) {
        if (s < maxOf[s % stride]!) {
          holes++;
          if (firstHole < 0) firstHole = s;
        } else behind++;
      } else if (c > 1) {
        duplicates += c - 1;
        if (firstDuplicate < 0) firstDuplicate = s;
      }
    }
    return { holes, behind, duplicates, firstHole, firstDuplicate };
  }

  /** Repeats anywhere in what was received. */
  duplicatesAnywhere(exclude: ReadonlySet<number>): number {
    let d = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      const c = this.#counts[i]!;
      if (c > 1 && !exclude.has(this.#base + i)) d += c - 1;
    }
    return d;
  }
}

/**
 * A 32-bit digest per `bench.seq` one client received (the first one when repeated), so clients
 * can be compared event by event (bench/lib/bench-frames.ts: CRC-32 of its id and data lines).
 */
export class SeqDigests {
  #base = -1;
  #values = new Uint32Array(0);
  #has = new Uint8Array(0);

  set(seq: number, digest: number): void {
    if (seq < 0) return;
    if (this.#base < 0) {
      this.#base = Math.max(0, seq - 1024);
      this.#values = new Uint32Array(4096);
      this.#has = new Uint8Array(4096);
    }
    if (seq < this.#base) {
      const newBase = Math.max(0, seq - 1024);
      this.#grow(this.#values.length + (this.#base - newBase), this.#base - newBase);
      this.#base = newBase;
    }
    const i = seq - this.#base;
    if (i >= this.#values.length) {
      let size = this.#values.length * 2;
      while (size <= i) size *= 2;
      this.#grow(size, 0);
    }
    if (this.#has[i] === 1) return;
    this.#has[i] = 1;
    this.#values[i] = digest >>> 0;
  }

  /** The digest of `seq`, or -1 when it was not received. */
  get(seq: number): number {
    const i = seq - this.#base;
    if (this.#base < 0 || i < 0 || i >= this.#values.length || this.#has[i] !== 1) return -1;
    return this.#values[i]!;
  }

  #grow(size: number, shift: number): void {
    const values = new Uint32Array(size);
    const has = new Uint8Array(size);
    values.set(this.#values, shift);
    has.set(this.#has, shift);
    this.#values = values;
    this.#has = has;
  }
}
