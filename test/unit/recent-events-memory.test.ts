import { describe, expect, it } from 'vitest';
import { readProducedEvents } from '../../bench/lib/recorded-events.ts';
import { keyWatch, type KeyWatch } from '../../src/event/meta-splice.ts';
import { prepareEvent } from '../../src/event/prepared-event.ts';
import { RecentEvents } from '../../src/fanout/recent-events.ts';
import { gc } from '../support/gc.ts';

const values = readProducedEvents().map((event) => Buffer.from(JSON.stringify(event)));

/** Heap and buffers in use after full collections. */
function used(): number {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** What a cache of `budget` bytes holds after `count` real recentchange events went through it. */
function retainedBy(budget: number, count: number, watch?: KeyWatch): { bytes: number; held: number; watched: number } {
  const before = used();
  const cache = new RecentEvents(0, budget);
  for (let offset = 0; offset < count; offset += 10) {
    const batch = [];
    for (let i = offset; i < offset + 10; i++) {
      const value = values[i % values.length]!;
      batch.push(prepareEvent({ topic: 'eqiad.mediawiki.recentchange', partition: 0, offset: i, timestamp: 1_700_000_000_000 + i, key: null, value }, 4_000_000, undefined, watch));
    }
    cache.append(batch, offset + 10);
  }
  const bytes = used() - before;
  const held = [...cache.from(0)];
  return { bytes, held: held.length, watched: held.filter((e) => e.watched !== undefined && e.watched.length > 0).length / held.length };
}

describe('the recent-events cache in memory', () => {
  // Several points of the eviction cycle: evicted events were once held until the array's
  // evicted prefix was compacted away, up to twice the budget.
  it.each([30_000, 31_500, 33_000])('holds about its byte budget, not more, after %i real events went through (evicted ones are released)', (count) => {
    const budget = 8_000_000;
    const { bytes, held } = retainedBy(budget, count);
    expect(held).toBeGreaterThan(4000);
    expect(bytes).toBeLessThan(budget * 1.1);
    expect(bytes).toBeGreaterThan(budget * 0.8);
  });
  it('counts the positions of watched keys too', () => {
    const budget = 8_000_000;
    const { bytes, watched } = retainedBy(budget, 30_000, keyWatch(['user', 'comment', 'parsedcomment', 'log_action_comment']));
    expect(watched).toBeGreaterThan(0.9);
    expect(bytes).toBeLessThan(budget * 1.1);
    expect(bytes).toBeGreaterThan(budget * 0.8);
  });
});
