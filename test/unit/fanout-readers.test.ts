import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { ServiceConfig } from '../../src/config/types.ts';
import { prepareEvent } from '../../src/event/prepared-event.ts';
import { CatchUpReader } from '../../src/fanout/catch-up-reader.ts';
import { PartitionCursor } from '../../src/fanout/cursor.ts';
import { FanoutHub } from '../../src/fanout/hub.ts';
import { PartitionFeed } from '../../src/fanout/partition-feed.ts';
import { TailReader, type ReaderContext } from '../../src/fanout/tail-reader.ts';
import { Metrics } from '../../src/metrics/registry.ts';
import { partitionKey } from '../../src/protocol/position.ts';
import { RedactedPages } from '../../src/sanitize/redacted-pages.ts';
import { Sanitizer } from '../../src/sanitize/sanitizer.ts';
import { SuppressionIndex } from '../../src/sanitize/suppression-index.ts';
import { MemoryKafka } from '../support/memory-kafka.ts';
import { RecordingSink } from '../support/recording-sink.ts';
import { waitFor } from '../support/sse-clients.ts';

const silent = pino({ level: 'silent' });
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));
const received = (sink: RecordingSink, count: number) => waitFor(() => sink.received.length >= count, `${count} events`, 5000);

/** Stopped after each test: readers loop until told to stop. */
const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

function readerContext(kafka: MemoryKafka): ReaderContext {
  return { gateway: kafka, metrics: new Metrics(), log: silent, prepare: (message) => prepareEvent(message, 1e6) };
}

function tailReader(kafka: MemoryKafka): TailReader {
  const tail = new TailReader(readerContext(kafka));
  running.push(tail);
  return tail;
}

/** A feed starting at `tail`, followed by a cursor starting at `next`. */
function followed(tail: number, next: number): { feed: PartitionFeed; sink: RecordingSink; cursor: PartitionCursor } {
  const feed = new PartitionFeed('t', 0, tail, 1e6);
  const sink = new RecordingSink();
  const cursor = new PartitionCursor(sink, 0, 't', 0, next);
  return { feed, sink, cursor };
}

describe('TailReader', () => {
  it('reads every followed partition in one fetch loop and offers each event once, in order', async () => {
    const kafka = new MemoryKafka();
    kafka.append('t', 0, 0);
    kafka.append('u', 0, 0);
    const tail = tailReader(kafka);
    const sinks = ['t', 'u'].map((topic) => {
      const feed = new PartitionFeed(topic, 0, 0, 1e6);
      const sink = new RecordingSink();
      feed.replay(new PartitionCursor(sink, 0, topic, 0, 0), Infinity);
      tail.add(feed);
      return sink;
    });
    for (let round = 0; round < 4; round++) {
      kafka.append('t', 0, 5);
      kafka.append('u', 0, 2);
      await settle();
    }
    await Promise.all([received(sinks[0]!, 20), received(sinks[1]!, 8)]);
    expect(sinks.map((s) => s.received)).toEqual([range(0, 20), range(0, 8)]);
    expect(kafka.fetchers).toBe(1);
  });

  it('lets a cursor ahead of the tail wait for its offsets', async () => {
    const kafka = new MemoryKafka();
    kafka.append('t', 0, 0);
    const { feed, sink, cursor } = followed(0, 5);
    expect(feed.replay(cursor, Infinity)).toBe('live');
    tailReader(kafka).add(feed);
    kafka.append('t', 0, 10);
    await received(sink, 5);
    await settle();
    expect(sink.received).toEqual(range(5, 10));
  });

  it('moves on when retention deleted its position, and tells every client where it went on', async () => {
    const kafka = new MemoryKafka();
    kafka.append('t', 0, 10);
    kafka.retain('t', 0, 6);
    const { feed, sink, cursor } = followed(2, 2);
    feed.replay(cursor, Infinity);
    tailReader(kafka).add(feed);
    await received(sink, 4);
    expect(sink.received).toEqual(range(6, 10));
    expect(sink.lost).toEqual([{ topic: 't', partition: 0, offset: 6, requested: { topic: 't', partition: 0, offset: 2 }, notice: 'offset_before_earliest' }]);
  });

  it('ends the streams of a topic that was deleted', async () => {
    const kafka = new MemoryKafka();
    kafka.append('t', 0, 3);
    const { feed, sink, cursor } = followed(0, 0);
    feed.replay(cursor, Infinity);
    tailReader(kafka).add(feed);
    await received(sink, 3);
    kafka.deleteTopic('t');
    await waitFor(() => sink.failed.length > 0, 'the stream to fail', 5000);
    expect(sink.failed).toEqual(['TopicDeleted']);
  });
});

describe('CatchUpReader', () => {
  function catchUp(kafka: MemoryKafka, feed: PartitionFeed, from: number): CatchUpReader {
    return new CatchUpReader(feed, from, readerContext(kafka), (cursor) => feed.replay(cursor, Infinity));
  }

  it('hands its clients to the live feed without a gap or a repeat', async () => {
    const kafka = new MemoryKafka();
    kafka.append('t', 0, 30);
    // The live feed is at 20 and has not read anything yet when the resuming client arrives.
    const { feed, sink, cursor } = followed(20, 0);
    const reader = catchUp(kafka, feed, 0);
    reader.add(cursor);
    await reader.run();
    // Its last fetch (18..20) went past the feed's tail: the client follows live from 21 on, and
    // the feed, catching up, offers it 20 again.
    expect([reader.done, cursor.next, feed.tail]).toEqual([true, 21, 20]);
    tailReader(kafka).add(feed);
    kafka.append('t', 0, 10);
    await received(sink, 40);
    await settle();
    expect(sink.received).toEqual(range(0, 40));
    expect(kafka.fetchers).toBe(2);
  });

  it('paces itself by its slowest client', async () => {
    const kafka = new MemoryKafka();
    kafka.append('t', 0, 12);
    const { feed, sink, cursor } = followed(12, 0);
    const slow = new RecordingSink();
    const release = slow.hold();
    const reader = catchUp(kafka, feed, 0);
    reader.add(cursor);
    reader.add(new PartitionCursor(slow, 0, 't', 0, 0));
    const done = reader.run();
    await settle();
    expect([sink.received, slow.received]).toEqual([[], []]);
    release();
    await done;
    expect([sink.received, slow.received]).toEqual([range(0, 12), range(0, 12)]);
  });

  it('moves on when retention deleted the position it resumes from, and tells its clients', async () => {
    const kafka = new MemoryKafka();
    kafka.append('t', 0, 20);
    kafka.retain('t', 0, 10);
    const { feed, sink, cursor } = followed(20, 3);
    const reader = catchUp(kafka, feed, 3);
    reader.add(cursor);
    await reader.run();
    expect(sink.received).toEqual(range(10, 20));
    expect(sink.lost).toEqual([{ topic: 't', partition: 0, offset: 10, requested: { topic: 't', partition: 0, offset: 3 }, notice: 'offset_before_earliest' }]);
  });
});

describe('FanoutHub', () => {
  const SHIPPED_CONFIG = fileURLToPath(new URL('../../config/config.yaml', import.meta.url));
  let shipped: ServiceConfig;
  beforeAll(async () => {
    ({ config: shipped } = await loadConfig({ argv: ['--config', SHIPPED_CONFIG], env: {} }));
  });

  function hub(kafka: MemoryKafka, fanout: Partial<ServiceConfig['fanout']> = {}): { hub: FanoutHub; metrics: Metrics } {
    const metrics = new Metrics();
    const config: ServiceConfig = { ...shipped, fanout: { ...shipped.fanout, cacheBytesPerPartition: 1e6, ...fanout } };
    const sanitizer = new Sanitizer(new SuppressionIndex(100), new RedactedPages({}), () => undefined, metrics, silent);
    const created = new FanoutHub(kafka, config, sanitizer, metrics, silent);
    running.push(created);
    return { hub: created, metrics };
  }

  /** A client of partition t/0 starting at `next`, subscribed with the log's end at `end`. */
  function client(source: FanoutHub, next: number, end: number): { sink: RecordingSink; close(): void } {
    const sink = new RecordingSink();
    const subscription = source.subscribe([new PartitionCursor(sink, 0, 't', 0, next)], new Map([[partitionKey('t', 0), end]]));
    return { sink, close: () => subscription.close() };
  }

  const lookups = async (metrics: Metrics) => (await metrics.cacheLookups.get()).values.map((v) => [v.labels.result, v.value]);

  it('reads a partition once for all its live clients', async () => {
    const kafka = new MemoryKafka();
    kafka.append('t', 0, 5);
    const { hub: source } = hub(kafka);
    const clients = [client(source, 5, 5), client(source, 5, 5), client(source, 5, 5)];
    kafka.append('t', 0, 10);
    await Promise.all(clients.map((c) => received(c.sink, 10)));
    expect(clients.map((c) => c.sink.received)).toEqual([range(5, 15), range(5, 15), range(5, 15)]);
    expect(kafka.fetchers).toBe(1);
  });

  it('serves a recent resume from its cache and an older one through a catch-up reader, then both live', async () => {
    const kafka = new MemoryKafka();
    kafka.append('t', 0, 10);
    const { hub: source, metrics } = hub(kafka);
    const live = client(source, 10, 10);
    kafka.append('t', 0, 10);
    await received(live.sink, 10);
    const recent = client(source, 12, 20);
    const old = client(source, 2, 20);
    kafka.append('t', 0, 5);
    await Promise.all([received(recent.sink, 13), received(old.sink, 23)]);
    await settle();
    expect([live.sink.received, recent.sink.received, old.sink.received]).toEqual([range(10, 25), range(12, 25), range(2, 25)]);
    expect(await lookups(metrics)).toEqual([
      ['hit', 1],
      ['miss', 1],
    ]);
    expect(kafka.fetchers).toBe(2);
  });

  it('shares one catch-up reader between clients resuming close together', async () => {
    const kafka = new MemoryKafka();
    kafka.append('t', 0, 30);
    const { hub: source } = hub(kafka, { catchUpShareWindow: 5 });
    const clients = [client(source, 2, 30), client(source, 4, 30), client(source, 20, 30)];
    await waitFor(() => clients.every((c) => c.sink.received.at(-1) === 29), 'every client to catch up', 5000);
    expect(clients.map((c) => c.sink.received)).toEqual([range(2, 30), range(4, 30), range(20, 30)]);
    // The tail reader, one catch-up reader for 2 and 4, another for 20 (beyond the window).
    expect(kafka.fetchers).toBe(3);
  });

  it('replays from its cache a little per turn of the event loop, so many clients resuming at once do not hold it', async () => {
    const kafka = new MemoryKafka();
    kafka.append('t', 0, 0);
    const { hub: source } = hub(kafka);
    const live = client(source, 0, 0);
    kafka.append('t', 0, 5000);
    await received(live.sink, 5000);
    const resumed = Array.from({ length: 50 }, () => client(source, 0, 5000));
    // A turn of the loop comes between the replays' slices: this runs before they are done.
    const atNextTurn = await new Promise<number>((resolve) => setImmediate(() => resolve(resumed.reduce((n, c) => n + c.sink.received.length, 0))));
    expect(atNextTurn).toBeLessThan(50 * 5000);
    await Promise.all(resumed.map((c) => received(c.sink, 5000)));
    expect(resumed.every((c) => c.sink.received.length === 5000 && c.sink.received.at(-1) === 4999)).toBe(true);
  });

  it('runs at most max_catch_up_readers catch-up readers; a client past it waits for one to end, then gets every event', async () => {
    const kafka = new MemoryKafka();
    kafka.append('t', 0, 30);
    const { hub: source, metrics } = hub(kafka, { catchUpShareWindow: 0, maxCatchUpReaders: 1 });
    const clients = [client(source, 2, 30), client(source, 10, 30), client(source, 20, 30)];
    // The second and third wait: nothing is read for them yet.
    expect(kafka.fetchers).toBe(2);
    expect((await metrics.catchUpReaders.get()).values[0]?.value).toBe(1);
    expect((await metrics.catchUpWaiting.get()).values[0]?.value).toBe(2);
    await waitFor(() => clients.every((c) => c.sink.received.at(-1) === 29), 'every client to catch up', 5000);
    expect((await metrics.catchUpWaiting.get()).values[0]?.value).toBe(0);
    expect(clients.map((c) => c.sink.received)).toEqual([range(2, 30), range(10, 30), range(20, 30)]);
    // Then one reader each, one after the other.
    expect(kafka.fetchers).toBe(4);
  });

  it('forgets a client that closes while waiting for a catch-up reader', async () => {
    const kafka = new MemoryKafka();
    kafka.append('t', 0, 30);
    const { hub: source } = hub(kafka, { catchUpShareWindow: 0, maxCatchUpReaders: 1 });
    const first = client(source, 2, 30);
    const waiting = client(source, 10, 30);
    waiting.close();
    await received(first.sink, 28);
    await settle();
    expect([first.sink.received, waiting.sink.received]).toEqual([range(2, 30), []]);
    // The tail reader and the first client's reader: none was started for the one that left.
    expect(kafka.fetchers).toBe(2);
  });

  it('offers nothing more to a client once it closed its subscription', async () => {
    const kafka = new MemoryKafka();
    kafka.append('t', 0, 0);
    const { hub: source } = hub(kafka);
    const [stays, leaves] = [client(source, 0, 0), client(source, 0, 0)];
    kafka.append('t', 0, 3);
    await received(leaves.sink, 3);
    leaves.close();
    kafka.append('t', 0, 3);
    await received(stays.sink, 6);
    await settle();
    expect([stays.sink.received, leaves.sink.received]).toEqual([range(0, 6), range(0, 3)]);
  });
});
