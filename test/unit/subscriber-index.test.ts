import { describe, expect, it } from 'vitest';
import { PartitionCursor, type EventSink } from '../../src/fanout/cursor.ts';
import { PartitionFeed } from '../../src/fanout/partition-feed.ts';
import type { PreparedEvent } from '../../src/event/prepared-event.ts';
import { indexKey, type IndexHint } from '../../src/filter/compile.ts';
import type { StartPosition } from '../../src/protocol/position.ts';
import { PositionIds } from '../../src/stream/position-ids.ts';

/** A client as the feed sees it: its id, and what it was sent. */
class Client implements EventSink {
  readonly ids: PositionIds;
  readonly received: number[] = [];
  readonly index: IndexHint | undefined;
  ended = false;
  constructor(start: StartPosition, index?: IndexHint) {
    this.ids = new PositionIds([start]);
    this.index = index;
  }
  receive(slot: number, e: PreparedEvent, consumed: number): void {
    this.ids.advance(slot, e.offset, e.timestamp, consumed, e.tsRun);
    // As a session's selection does: the index only narrows what is offered (cache replays offer all).
    const wiki = (JSON.parse(e.frame?.toString().slice(6) ?? '{}') as { wiki?: string }).wiki;
    if (this.index === undefined || this.index.keys.has(indexKey(wiki) ?? '')) this.received.push(e.offset);
  }
  skip(slot: number, e: PreparedEvent, consumed: number): void {
    this.ids.advance(slot, e.offset, e.timestamp, consumed, e.tsRun);
  }
  caughtUp(): void {}
  writable(): Promise<void> {
    return Promise.resolve();
  }
  positionLost(start: StartPosition): void {
    this.ids.reset(start);
  }
  fail(): void {
    this.ended = true;
  }
}

const hint = (...wikis: string[]): IndexHint => ({ path: 'wiki', segments: ['wiki'], keys: new Set(wikis.map(indexKey).filter((k): k is string => k !== undefined)) });

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Events with many equal timestamps in a row, the case a timestamp id must count exactly. */
function makeEvents(count: number, next: () => number): PreparedEvent[] {
  const wikis = ['enwiki', 'dewiki', 'frwiki', 'commonswiki'];
  let timestamp = 1_000;
  return Array.from({ length: count }, (_, offset) => {
    if (next() < 0.4) timestamp += 1 + Math.floor(next() * 3);
    const wiki = wikis[Math.floor(next() * wikis.length)] as string;
    const canary = next() < 0.05;
    return { topic: 't', partition: 0, offset, timestamp, canary, frame: Buffer.from(`data: ${JSON.stringify({ wiki, offset })}\n\n`) };
  });
}

describe('SubscriberIndex in a live feed', () => {
  it('offers an indexed client exactly the events with its values, and keeps its id equal to a client that saw everything', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const next = random(seed);
      const all = makeEvents(400, next);
      const feed = new PartitionFeed('t', 0, 0, 1e9);
      const start: StartPosition = { topic: 't', partition: 0, offset: 0, requested: { since: 1_000 } };
      const everything = new Client(start);
      const enwiki = new PartitionCursor(new Client(start, hint('enwiki')), 0, 't', 0, 0);
      const twoWikis = new PartitionCursor(new Client(start, hint('dewiki', 'frwiki')), 0, 't', 0, 0);
      feed.replay(new PartitionCursor(everything, 0, 't', 0, 0), Infinity);
      feed.replay(enwiki, Infinity);
      feed.replay(twoWikis, Infinity);
      let late: PartitionCursor | undefined;
      let at = 0;
      while (at < all.length) {
        const size = 1 + Math.floor(next() * 30);
        const batch = all.slice(at, at + size);
        at += batch.length;
        feed.accept(batch, at, undefined);
        // A client that joins mid-stream is replayed the cache, then indexed.
        if (late === undefined && at > 150) {
          late = new PartitionCursor(new Client(start, hint('commonswiki')), 0, 't', 0, 0);
          feed.replay(late, Infinity);
        }
        // Sessions read their id only now and then (heartbeats): in between, clients are offered
        // only their events and must still count everything they skipped.
        if (next() > 0.3) continue;
        for (const cursor of [enwiki, twoWikis, late]) {
          if (cursor === undefined) continue;
          // What a session does before it writes a heartbeat with its id.
          cursor.catchUp();
          expect((cursor.sink as Client).ids.toString(), `seed ${seed} at ${at}`).toBe(everything.ids.toString());
          expect(cursor.next).toBe(at);
        }
      }
      const offsetsOf = (...wikis: string[]) => all.filter((e) => wikis.some((w) => e.frame?.includes(`"wiki":"${w}"`))).map((e) => e.offset);
      expect((enwiki.sink as Client).received).toEqual(offsetsOf('enwiki'));
      expect((twoWikis.sink as Client).received).toEqual(offsetsOf('dewiki', 'frwiki'));
      expect((late?.sink as Client).received).toEqual(offsetsOf('commonswiki'));
      expect(everything.received).toEqual(all.map((e) => e.offset));
    }
  });

  it('keeps the id exact for a filtered client that starts ahead of the feed tail', () => {
    const all = makeEvents(60, random(3)).map((e) => ({ ...e, timestamp: 2_000 }));
    const feed = new PartitionFeed('t', 0, 0, 1e9);
    const start: StartPosition = { topic: 't', partition: 0, offset: 20, requested: { since: 2_000 } };
    const everything = new Client(start);
    const filtered = new Client(start, hint('enwiki'));
    const cursors = [new PartitionCursor(everything, 0, 't', 0, 20), new PartitionCursor(filtered, 0, 't', 0, 20)];
    for (const cursor of cursors) feed.replay(cursor, Infinity);
    for (let at = 0; at < all.length; at += 7) feed.accept(all.slice(at, at + 7), Math.min(at + 7, all.length), undefined);
    for (const cursor of cursors) cursor.catchUp();
    // All 40 events from offset 20 on share one millisecond: the count must be 40, not 60.
    expect(everything.ids.toString()).toBe('[{"topic":"t","partition":0,"timestamp":2001,"ts_seen":40}]');
    expect(filtered.ids.toString()).toBe(everything.ids.toString());
  });

  it('stops offering to a client that left or ended, and keeps the feed idle-aware', () => {
    const feed = new PartitionFeed('t', 0, 0, 1e9);
    const client = new Client({ topic: 't', partition: 0, offset: 0 }, hint('enwiki'));
    const cursor = new PartitionCursor(client, 0, 't', 0, 0);
    feed.replay(cursor, Infinity);
    expect(feed.clients).toBe(1);
    expect(feed.idleSince).toBeUndefined();
    const batch = makeEvents(50, random(7)).map((e) => ({ ...e, frame: Buffer.from('data: {"wiki":"enwiki"}\n\n') }));
    feed.accept(batch.slice(0, 10), 10, undefined);
    expect(client.received).toHaveLength(10);
    feed.leave(cursor);
    expect(feed.clients).toBe(0);
    feed.accept(batch.slice(10, 20), 20, undefined);
    expect(client.received).toHaveLength(10);
  });

  it('moves indexed clients too when the tail position is lost', () => {
    const feed = new PartitionFeed('t', 0, 0, 1e9);
    const client = new Client({ topic: 't', partition: 0, offset: 0 }, hint('enwiki'));
    feed.replay(new PartitionCursor(client, 0, 't', 0, 0), Infinity);
    feed.moved(100, 'offset_before_earliest');
    expect(client.ids.toString()).toBe('[{"topic":"t","partition":0,"offset":100}]');
  });
});

describe('PositionIds.advance over skipped events', () => {
  const start: StartPosition = { topic: 't', partition: 0, offset: 0, requested: { since: 1 } };
  it('counts a run of equal timestamps across events it was not sent', () => {
    const ids = new PositionIds([start]);
    ids.advance(0, 0, 5, 1, 1);
    ids.advance(0, 3, 5, 3, 4); // offsets 1..3 also at 5 ms: four in a row
    expect(ids.toString()).toBe('[{"topic":"t","partition":0,"timestamp":6,"ts_seen":4}]');
  });
  it('restarts the count when the run began among the skipped events', () => {
    const ids = new PositionIds([start]);
    ids.advance(0, 0, 5, 1, 1);
    ids.advance(0, 4, 9, 4, 2); // 3 and 4 at 9 ms
    expect(ids.toString()).toBe('[{"topic":"t","partition":0,"timestamp":10,"ts_seen":2}]');
  });
  it('never counts more than it consumed when the reader knew a longer run', () => {
    const ids = new PositionIds([start]);
    ids.advance(0, 10, 7, 1, 5);
    expect(ids.toString()).toBe('[{"topic":"t","partition":0,"timestamp":8,"ts_seen":1}]');
  });
});
