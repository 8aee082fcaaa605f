import { describe, expect, it } from 'vitest';
import { TimeMerge } from '../../src/stream/time-merge.ts';

interface Item {
  slot: number;
  n: number;
  ts: number;
}

const measure = { timestamp: (item: Item) => item.ts, bytes: () => 10 };

function merge(slots: number, lookaheadBytes = 1000) {
  const out: Item[] = [];
  const m = new TimeMerge<Item>(slots, lookaheadBytes, measure);
  const release = (more: () => boolean = () => true, force = false) => m.release((_slot, item) => out.push(item), more, () => force);
  return { m, out, release };
}

/** A seeded generator (mulberry32), so a failure repeats. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('TimeMerge', () => {
  it('releases nothing while a partition still catching up holds nothing', () => {
    const { m, out, release } = merge(2);
    m.add(0, { slot: 0, n: 0, ts: 5 });
    release();
    expect(out).toEqual([]);
    expect(m.waitsFor(1)).toBe(true);
    m.add(1, { slot: 1, n: 0, ts: 7 });
    release();
    // Slot 0's head is certain (slot 1 cannot bring anything older than 7); then slot 0 is empty again.
    expect(out.map((i) => i.ts)).toEqual([5]);
  });

  it('merges by timestamp, each partition in its own order, ties to the lower slot', () => {
    const { m, out, release } = merge(3);
    const items: Item[][] = [
      [{ slot: 0, n: 0, ts: 1 }, { slot: 0, n: 1, ts: 4 }, { slot: 0, n: 2, ts: 4 }],
      [{ slot: 1, n: 0, ts: 2 }, { slot: 1, n: 1, ts: 4 }],
      [{ slot: 2, n: 0, ts: 0 }, { slot: 2, n: 1, ts: 9 }],
    ];
    for (const [slot, list] of items.entries()) for (const item of list) m.add(slot, item);
    for (let slot = 0; slot < 3; slot++) m.caughtUp(slot);
    release();
    expect(out.map((i) => `${i.slot}.${i.n}`)).toEqual(['2.0', '0.0', '1.0', '0.1', '0.2', '1.1', '2.1']);
    expect(m.done).toBe(true);
  });

  it('keeps a partition order even when its own timestamps go back', () => {
    const { m, out, release } = merge(2);
    m.add(0, { slot: 0, n: 0, ts: 10 });
    m.add(0, { slot: 0, n: 1, ts: 3 });
    m.add(1, { slot: 1, n: 0, ts: 5 });
    m.caughtUp(0);
    m.caughtUp(1);
    release();
    expect(out.map((i) => `${i.slot}.${i.n}`)).toEqual(['1.0', '0.0', '0.1']);
  });

  it('does not wait for a caught-up partition that holds nothing', () => {
    const { m, out, release } = merge(2);
    m.caughtUp(1);
    m.add(0, { slot: 0, n: 0, ts: 5 });
    release();
    expect(out).toHaveLength(1);
    expect(m.done).toBe(false);
    m.caughtUp(0);
    expect(m.done).toBe(true);
  });

  it('holds a caught-up partition behind one still catching up, up to its lookahead, then sends its oldest', () => {
    const { m, out, release } = merge(2, 30);
    m.caughtUp(0);
    for (let n = 0; n < 3; n++) {
      m.add(0, { slot: 0, n, ts: 100 + n });
      release();
    }
    expect(out).toEqual([]);
    // 40 bytes > 30: live events cannot be paced, so the oldest goes without waiting for slot 1.
    m.add(0, { slot: 0, n: 3, ts: 103 });
    release();
    expect(out.map((i) => i.n)).toEqual([0]);
    // Slot 1 brings older history: it goes at once, and the merge waits for slot 1 again.
    m.add(1, { slot: 1, n: 0, ts: 50 });
    release();
    expect(out.map((i) => `${i.slot}.${i.n}`)).toEqual(['0.0', '1.0']);
  });

  it('keeps the history a partition holds when it catches up in its turn', () => {
    const { m, out, release } = merge(2, 20);
    for (let n = 0; n < 4; n++) m.add(0, { slot: 0, n, ts: 10 + n });
    m.caughtUp(0);
    release();
    expect(out).toEqual([]);
    // 40 bytes of history plus 20 of live events fit; the 70th byte sends the oldest.
    m.add(0, { slot: 0, n: 4, ts: 20 });
    m.add(0, { slot: 0, n: 5, ts: 21 });
    release();
    expect(out).toEqual([]);
    m.add(0, { slot: 0, n: 6, ts: 22 });
    release();
    expect(out.map((i) => i.n)).toEqual([0]);
  });

  it('has no room for a partition at its lookahead', () => {
    const { m, release } = merge(2, 20);
    m.add(0, { slot: 0, n: 0, ts: 1 });
    expect(m.room(0)).toBe(true);
    m.add(0, { slot: 0, n: 1, ts: 2 });
    expect(m.room(0)).toBe(false);
    expect(m.room(1)).toBe(true);
    m.add(1, { slot: 1, n: 0, ts: 2 });
    release();
    expect(m.room(0)).toBe(true);
  });

  it('stops when the receiver has no room and resumes where it stopped', () => {
    const { m, out, release } = merge(2);
    for (let n = 0; n < 4; n++) m.add(n % 2, { slot: n % 2, n, ts: n });
    m.caughtUp(0);
    m.caughtUp(1);
    let room = 2;
    expect(release(() => room-- > 0)).toBe(false);
    expect(out.map((i) => i.n)).toEqual([0, 1]);
    expect(release()).toBe(true);
    expect(out.map((i) => i.n)).toEqual([0, 1, 2, 3]);
  });

  it('with force, releases without the partitions behind that hold nothing', () => {
    const { m, out, release } = merge(3);
    m.add(0, { slot: 0, n: 0, ts: 3 });
    m.add(2, { slot: 2, n: 0, ts: 1 });
    release(() => true, true);
    expect(out.map((i) => i.slot)).toEqual([2, 0]);
  });

  it('merges random interleavings into time order with no loss or duplicate, whatever the arrival order', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const rnd = random(seed);
      const slots = 1 + Math.floor(rnd() * 5);
      // Each partition: rising timestamps with gaps and equal runs.
      const sources: Item[][] = Array.from({ length: slots }, (_, slot) => {
        let ts = Math.floor(rnd() * 20);
        return Array.from({ length: Math.floor(rnd() * 40) }, (_, n) => ({ slot, n, ts: (ts += Math.floor(rnd() * 3)) }));
      });
      const { m, out, release } = merge(slots, 50);
      const next = new Array<number>(slots).fill(0);
      for (;;) {
        // A reader with room delivers a random-sized slice; one at its end goes live.
        const open = [...Array(slots).keys()].filter((s) => next[s]! < sources[s]!.length && m.room(s));
        for (let s = 0; s < slots; s++) if (next[s] === sources[s]!.length) m.caughtUp(s);
        if (open.length === 0) {
          if (next.every((n, s) => n === sources[s]!.length)) break;
          // Every reader with more waits for room: the receiver makes some.
          release();
          continue;
        }
        const slot = open[Math.floor(rnd() * open.length)]!;
        const count = 1 + Math.floor(rnd() * 8);
        for (let k = 0; k < count && next[slot]! < sources[slot]!.length; k++) m.add(slot, sources[slot]![next[slot]!++]!);
        release(() => rnd() > 0.1);
      }
      release();
      expect(m.done, `seed ${seed}`).toBe(true);
      const all = sources.flat();
      expect(out, `seed ${seed}`).toHaveLength(all.length);
      expect(new Set(out).size).toBe(all.length);
      for (let i = 1; i < out.length; i++) expect(out[i]!.ts, `seed ${seed} at ${i}`).toBeGreaterThanOrEqual(out[i - 1]!.ts);
    }
  });
});
