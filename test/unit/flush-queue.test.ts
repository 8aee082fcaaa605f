import { describe, expect, it } from 'vitest';
import { FlushQueue, type FlushClock } from '../../src/stream/flush-queue.ts';

/** A clock moved by hand, and the runs it was asked to make, with their delays. */
class FakeClock implements FlushClock {
  time = 0;
  readonly due: { ms: number; run: () => void }[] = [];
  now(): number {
    return this.time;
  }
  after(ms: number, run: () => void): void {
    this.due.push({ ms, run });
  }
  settled(run: () => void): void {
    run();
  }
  /** Runs the next scheduled flush. */
  next(): number {
    const { ms, run } = this.due.shift()!;
    run();
    return ms;
  }
}

describe('FlushQueue', () => {
  it('flushes a marked target on the next turn while flushes are cheap', () => {
    const clock = new FakeClock();
    const queue = new FlushQueue(clock);
    let flushed = 0;
    const target = { flush: () => (flushed++, (clock.time += 1)) };
    queue.mark(target);
    expect(clock.next()).toBe(0);
    queue.mark(target);
    expect(clock.next()).toBe(0);
    expect(flushed).toBe(2);
  });

  it('after a long flush, waits as long as it took before the next, and then writes everything marked meanwhile at once', () => {
    const clock = new FakeClock();
    const queue = new FlushQueue(clock);
    const flushed: string[] = [];
    const slow = { flush: () => (flushed.push('slow'), (clock.time += 30)) };
    const other = { flush: () => flushed.push('other') };
    queue.mark(slow);
    clock.next();
    // Marked 5 ms after a flush that took 30: it waits the other 25.
    clock.time += 5;
    queue.mark(slow);
    queue.mark(other);
    expect(clock.due.map((d) => d.ms)).toEqual([25]);
    clock.next();
    expect(flushed).toEqual(['slow', 'slow', 'other']);
    // However long a flush took, the next starts within 100 ms.
    const stuck = { flush: () => (clock.time += 5000) };
    queue.mark(stuck);
    clock.next();
    queue.mark(stuck);
    expect(clock.due.map((d) => d.ms)).toEqual([100]);
  });
});
