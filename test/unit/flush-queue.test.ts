import { describe, expect, it } from 'vitest';
import { FlushQueue } from '../../src/stream/flush-queue.ts';

const turn = () => new Promise((resolve) => setImmediate(resolve));
const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('FlushQueue', () => {
  it('flushes a marked target on the next turn while flushes are cheap', async () => {
    const queue = new FlushQueue();
    let flushed = 0;
    const target = { flush: () => flushed++ };
    queue.mark(target);
    await turn();
    queue.mark(target);
    await turn();
    expect(flushed).toBe(2);
  });

  it('after a long flush, waits as long as it took before the next, and then writes everything marked meanwhile at once', async () => {
    const queue = new FlushQueue();
    const flushes: number[] = [];
    const slow = { flush: () => (flushes.push(performance.now()), busy(60)) };
    queue.mark(slow);
    await turn();
    expect(flushes).toHaveLength(1);
    const ended = performance.now();
    queue.mark(slow);
    await turn();
    // Not yet: the last flush took 60 ms.
    expect(flushes).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(flushes).toHaveLength(2);
    expect(flushes[1]! - ended).toBeGreaterThanOrEqual(55);
  });
});
