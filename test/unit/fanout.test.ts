import { describe, expect, it } from 'vitest';
import { PartitionCursor } from '../../src/fanout/cursor.ts';
import { PartitionFeed } from '../../src/fanout/partition-feed.ts';
import { eventBytes, type PreparedEvent } from '../../src/event/prepared-event.ts';
import { RecentEvents } from '../../src/fanout/recent-events.ts';
import { RecordingSink as Sink } from '../support/recording-sink.ts';

const event = (offset: number): PreparedEvent => ({ topic: 't', partition: 0, offset, timestamp: 1000 + offset, frame: Buffer.from(`data: {"o":"${String(offset).padStart(8, "0")}"}\n\n`), canary: false });
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const events = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => event(from + i));

describe('RecentEvents', () => {
  it('holds what fits in its byte budget and knows which offsets it covers', () => {
    const size = eventBytes(event(0));
    const cache = new RecentEvents(100, size * 3);
    expect(cache.covers(100)).toBe(true);
    expect(cache.covers(99)).toBe(false);
    cache.append(events(100, 105), 105);
    expect(cache.size).toBe(3);
    expect(cache.bytes).toBe(size * 3);
    expect(cache.coveredFrom).toBe(102);
    expect(cache.end).toBe(105);
    expect([...cache.from(103)].map((e) => e.offset)).toEqual([103, 104]);
    expect([...cache.from(0)].map((e) => e.offset)).toEqual([102, 103, 104]);
    expect([...cache.from(105)]).toEqual([]);
  });
  it('moves its end past control records that carry no event', () => {
    const cache = new RecentEvents(0, 1e6);
    cache.append(events(0, 2), 2);
    cache.append([], 5);
    expect(cache.end).toBe(5);
    expect(cache.covers(3)).toBe(true);
  });
  it('with a zero budget covers only the tail', () => {
    const cache = new RecentEvents(0, 0);
    cache.append(events(0, 10), 10);
    expect(cache.size).toBe(0);
    expect(cache.coveredFrom).toBe(10);
  });
  it('keeps the right events over many appends (compaction of the evicted prefix)', () => {
    const cache = new RecentEvents(0, eventBytes(event(0)) * 50);
    for (let i = 0; i < 5000; i += 10) cache.append(events(i, i + 10), i + 10);
    expect([...cache.from(0)].map((e) => e.offset)).toEqual(Array.from({ length: 50 }, (_, i) => 4950 + i));
    expect(cache.coveredFrom).toBe(4950);
  });
  it('answers timestamp look-ups it can answer with certainty, like Kafka would', () => {
    const cache = new RecentEvents(0, 1e6);
    cache.append(events(10, 20), 20); // timestamps 1010..1019
    expect(cache.offsetForTimestamp(1015)).toBe(15);
    expect(cache.offsetForTimestamp(1014.5)).toBe(15);
    expect(cache.offsetForTimestamp(1019)).toBe(19);
    // After everything held, or before the oldest held event: only Kafka knows.
    expect(cache.offsetForTimestamp(1020)).toBeUndefined();
    expect(cache.offsetForTimestamp(1010)).toBeUndefined();
    expect(cache.offsetForTimestamp(5)).toBeUndefined();
  });
  it('reset forgets everything', () => {
    const cache = new RecentEvents(0, 1e6);
    cache.append(events(0, 5), 5);
    cache.reset(50);
    expect([cache.size, cache.coveredFrom, cache.end]).toEqual([0, 50, 50]);
  });
});

describe('PartitionCursor', () => {
  it('takes every offset once and in order, whoever offers it', () => {
    const sink = new Sink();
    const cursor = new PartitionCursor(sink, 0, 't', 0, 3);
    for (const e of [...events(0, 6), ...events(2, 8)]) cursor.offer(e);
    expect(sink.received).toEqual([3, 4, 5, 6, 7]);
    expect(cursor.next).toBe(8);
  });
  it('jumps forward over a lost range and tells its client', () => {
    const sink = new Sink();
    const cursor = new PartitionCursor(sink, 0, 't', 0, 3);
    cursor.jump(10, 'offset_before_earliest');
    cursor.jump(5, 'offset_before_earliest');
    expect(cursor.next).toBe(10);
    expect(sink.lost).toEqual([{ topic: 't', partition: 0, offset: 10, requested: { topic: 't', partition: 0, offset: 3 }, notice: 'offset_before_earliest' }]);
  });
  it('offers nothing to an ended client', () => {
    const sink = new Sink();
    sink.ended = true;
    new PartitionCursor(sink, 0, 't', 0, 0).offer(event(0));
    expect(sink.received).toEqual([]);
  });
});

describe('PartitionFeed', () => {
  it('replays the cache to a joining cursor, then delivers live, without gaps or repeats', () => {
    const feed = new PartitionFeed('t', 0, 0, 1e6);
    feed.accept(events(0, 5), 5, { earliest: 0, latest: 5 });
    const sink = new Sink();
    const cursor = new PartitionCursor(sink, 0, 't', 0, 2);
    expect(feed.replay(cursor, Infinity)).toBe('live');
    expect(sink.received).toEqual([2, 3, 4]);
    feed.accept(events(5, 7), 7, { earliest: 0, latest: 9 });
    expect(sink.received).toEqual([2, 3, 4, 5, 6]);
    expect(feed.lag).toBe(2);
  });
  it('replays a large cache in slices, so a resuming client is paced rather than flooded', () => {
    const feed = new PartitionFeed('t', 0, 0, 1e6);
    feed.accept(events(0, 100), 100, { earliest: 0, latest: 100 });
    const sink = new Sink();
    const cursor = new PartitionCursor(sink, 0, 't', 0, 10);
    const slice = (event(0).frame?.length ?? 0) * 20;
    expect(feed.replay(cursor, slice)).toBe('more');
    expect(sink.received).toEqual(range(10, 30));
    expect(feed.replay(cursor, slice)).toBe('more');
    expect(feed.replay(cursor, slice)).toBe('more');
    expect(feed.replay(cursor, slice)).toBe('more');
    expect(feed.replay(cursor, slice)).toBe('live');
    expect(sink.received).toEqual(range(10, 100));
    feed.accept(events(100, 102), 102, undefined);
    expect(sink.received.slice(-2)).toEqual([100, 101]);
  });
  it('refuses a cursor older than its cache (it must catch up)', () => {
    const feed = new PartitionFeed('t', 0, 100, 1e6);
    expect(feed.replay(new PartitionCursor(new Sink(), 0, 't', 0, 99), Infinity)).toBe('uncached');
    expect(feed.replay(new PartitionCursor(new Sink(), 0, 't', 0, 100), Infinity)).toBe('live');
  });
  it('lets a cursor ahead of the tail wait for its offsets', () => {
    const feed = new PartitionFeed('t', 0, 0, 1e6);
    const sink = new Sink();
    feed.replay(new PartitionCursor(sink, 0, 't', 0, 3), Infinity);
    feed.accept(events(0, 5), 5, undefined);
    expect(sink.received).toEqual([3, 4]);
  });
  it('tracks idleness by live and catching-up clients', () => {
    const feed = new PartitionFeed('t', 0, 0, 1e6);
    expect(feed.idleSince).toBeDefined();
    const cursor = new PartitionCursor(new Sink(), 0, 't', 0, 0);
    feed.replay(cursor, Infinity);
    expect(feed.idleSince).toBeUndefined();
    feed.catchUpStarted();
    feed.leave(cursor);
    expect(feed.idleSince).toBeUndefined();
    feed.catchUpEnded();
    expect(feed.idleSince).toBeDefined();
  });
  it('tells every client when the tail position was lost, and fails them all when the topic is gone', () => {
    const feed = new PartitionFeed('t', 0, 10, 1e6);
    const a = new Sink();
    const b = new Sink();
    feed.replay(new PartitionCursor(a, 0, 't', 0, 10), Infinity);
    feed.replay(new PartitionCursor(b, 0, 't', 0, 10), Infinity);
    feed.moved(20, 'offset_before_earliest');
    expect([a.lost.length, b.lost.length]).toEqual([1, 1]);
    expect(feed.tail).toBe(20);
    feed.fail('TopicDeleted', 'gone');
    expect([a.failed, b.failed]).toEqual([['TopicDeleted'], ['TopicDeleted']]);
  });
});

describe('prepareEvent', async () => {
  const { prepareEvent, ndjsonLine, eventJson } = await import('../../src/event/prepared-event.ts');
  const message = { topic: 't', partition: 1, offset: 5, timestamp: 9, key: null, value: Buffer.from('{"title":"É ✓","meta":{}}') };
  it('encodes the SSE data line once, with the NDJSON line as a view of the same bytes', () => {
    const event = prepareEvent(message, 1e6);
    expect(event.frame?.toString()).toBe('data: {"title":"É ✓","meta":{"topic":"t","partition":1,"offset":5}}\n\n');
    const line = ndjsonLine(event.frame as Buffer);
    expect(line.toString()).toBe('{"title":"É ✓","meta":{"topic":"t","partition":1,"offset":5}}\n');
    expect(line.buffer).toBe(event.frame?.buffer);
    expect(eventJson(event)).toBe('{"title":"É ✓","meta":{"topic":"t","partition":1,"offset":5}}');
  });
  it('gives every frame memory of its own, so a cached frame does not keep a slab of the shared buffer pool alive', () => {
    const plain = prepareEvent(message, 1e6).frame as Buffer;
    expect(plain.buffer.byteLength).toBe(plain.length);
    // Not plain enough for the byte-level splice (a duplicate key): re-encoded after a full parse.
    const parsed = prepareEvent({ ...message, value: Buffer.from('{"meta":{},"meta":{"x":1}}') }, 1e6).frame as Buffer;
    expect(parsed.buffer.byteLength).toBe(parsed.length);
  });
  it('keeps the position of a skipped message, without a frame', () => {
    expect(prepareEvent({ ...message, value: Buffer.from('nope') }, 1e6)).toEqual({ topic: 't', partition: 1, offset: 5, timestamp: 9, canary: false, skip: 'not_json' });
  });
});

describe('LoadGuard', async () => {
  const { LoadGuard } = await import('../../src/admission/load-guard.ts');
  it('accounts output queued for all clients and refuses new streams from 75 % of the budget', () => {
    const guard = new LoadGuard(1000, 1000);
    try {
      guard.queued(700);
      expect([guard.overBudget(), guard.overloaded()]).toEqual([false, false]);
      guard.queued(100);
      expect([guard.overBudget(), guard.overloaded()]).toEqual([false, true]);
      guard.queued(300);
      expect([guard.overBudget(), guard.overloaded()]).toEqual([true, true]);
      guard.queued(-1100);
      expect([guard.queuedBytes, guard.overBudget(), guard.overloaded()]).toEqual([0, false, false]);
    } finally {
      guard.stop();
    }
  });
  it('sheds the clients with the longest queues until the budget holds', () => {
    const guard = new LoadGuard(1000, 1000);
    const shed: string[] = [];
    const client = (name: string, bytes: number) => ({ queuedBytes: bytes, shed: () => { shed.push(name); guard.queued(-bytes); } });
    try {
      const [a, b, c] = [client('a', 300), client('b', 900), client('c', 400)];
      for (const x of [a, b, c]) {
        guard.queued(x.queuedBytes);
        guard.queuing(x, true);
      }
      guard.enforce();
      expect(shed).toEqual(['b']);
      expect(guard.overBudget()).toBe(false);
    } finally {
      guard.stop();
    }
  });
  it('counts a blocked event loop as overload', async () => {
    const guard = new LoadGuard(1e9, 50);
    try {
      // The delay monitor measures from its first tick on.
      await new Promise((r) => setTimeout(r, 100));
      const until = Date.now() + 300;
      while (Date.now() < until) {
        // block the loop
      }
      await new Promise((r) => setTimeout(r, 1000));
      expect(guard.eventLoopLagMs).toBeGreaterThan(50);
      expect(guard.overloaded()).toBe(true);
    } finally {
      guard.stop();
    }
  });
});
