import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseBlocks } from '../../bench/lib/sse-parser.ts';
import type { RunningService } from '../../src/service.ts';
import { rcEvent } from '../support/events.ts';
import { produceJson, testBrokers, uniqueTopic } from '../support/kafka.ts';
import { metric } from '../support/metrics.ts';
import { startTestService } from '../support/service.ts';
import { openRaw, type RawStream } from '../support/sse.ts';

const seqs = (s: RawStream) => s.messages().map((m) => m.data.seq as number);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

async function withService<T>(streams: Record<string, { topics: string[] }>, settings: Record<string, unknown>, body: (svc: RunningService) => Promise<T>): Promise<T> {
  const svc = await startTestService(streams, settings);
  try {
    return await body(svc);
  } finally {
    await svc.stop();
  }
}

async function openMany(url: string, n: number, headers: Record<string, string> = {}): Promise<RawStream[]> {
  const streams = await Promise.all(Array.from({ length: n }, () => openRaw(url, headers)));
  await Promise.all(streams.map((s) => s.until((x) => x.text().startsWith(':ok'))));
  return streams;
}

describe('Kafka is read once per partition, whatever the number of clients', () => {
  it.each([
    ['shared', 1],
    ['per_connection', 30],
  ] as const)('mode %s reads each message %d time(s) for 30 clients', async (mode, readsPerMessage) => {
    const topic = await uniqueTopic('eqiad.once', 1);
    await withService({ once: { topics: [topic] } }, { fanout: { mode } }, async (svc) => {
      const clients = await openMany(`${svc.url}/v2/stream/once`, 30);
      try {
        const kind = mode === 'shared' ? 'live' : 'per_connection';
        const readBefore = await metric(svc.url, 'eventstreams_kafka_messages_read_total', { kind });
        await produceJson(testBrokers(), topic, range(0, 200).map((i) => ({ value: rcEvent(i, { seq: i }) })));
        await Promise.all(clients.map((c) => c.until((x) => x.messages().length >= 200)));
        for (const c of clients) expect(seqs(c)).toEqual(range(0, 200));
        const read = (await metric(svc.url, 'eventstreams_kafka_messages_read_total', { kind })) - readBefore;
        expect(read).toBe(200 * readsPerMessage);
      } finally {
        for (const c of clients) c.close();
      }
    });
  });

  it('fetch requests do not grow with the number of clients (compared with per-connection reading)', async () => {
    const topic = await uniqueTopic('eqiad.fetches', 1);
    const fetchesOver = async (mode: 'shared' | 'per_connection') =>
      withService({ f: { topics: [topic] } }, { fanout: { mode }, kafka: { brokers: testBrokers(), fetch_max_wait_ms: 200 } }, async (svc) => {
        const clients = await openMany(`${svc.url}/v2/stream/f`, 40);
        try {
          const before = await metric(svc.url, 'eventstreams_kafka_fetch_requests_total');
          const total = async () => {
            let sum = 0;
            for (const kind of ['live', 'catch_up', 'per_connection']) sum += await metric(svc.url, 'eventstreams_kafka_fetch_requests_total', { kind });
            return sum;
          };
          const start = (await total()) + before * 0;
          await new Promise((r) => setTimeout(r, 2000));
          return (await total()) - start;
        } finally {
          for (const c of clients) c.close();
        }
      });
    const shared = await fetchesOver('shared');
    const perConnection = await fetchesOver('per_connection');
    // Idle long-polls at 200 ms: about 10 for the one shared reader, about 400 for 40 per-client readers.
    expect(shared).toBeLessThan(30);
    expect(perConnection).toBeGreaterThan(shared * 5);
  });
});

describe('delay metrics', () => {
  it('time every live event from its Kafka timestamp, and every write pass', async () => {
    const topic = await uniqueTopic('eqiad.delays', 1);
    await withService({ d: { topics: [topic] } }, {}, async (svc) => {
      const live = await openRaw(`${svc.url}/v2/stream/d`);
      await live.until((x) => x.text().startsWith(':ok'));
      const sent = Date.now();
      await produceJson(testBrokers(), topic, range(0, 20).map((i) => ({ value: rcEvent(i, { seq: i }) })));
      await live.until((x) => x.messages().length >= 20);
      const within = (Date.now() - sent) / 1000;
      expect(await metric(svc.url, 'eventstreams_live_event_age_seconds_count')).toBe(20);
      const ages = await metric(svc.url, 'eventstreams_live_event_age_seconds_sum');
      expect(ages).toBeGreaterThanOrEqual(0);
      expect(ages).toBeLessThanOrEqual(20 * within);
      const passes = await metric(svc.url, 'eventstreams_write_pass_seconds_count');
      expect(passes).toBeGreaterThan(0);
      expect(await metric(svc.url, 'eventstreams_write_pass_seconds_sum')).toBeLessThanOrEqual(within);
      live.close();
    });
  });
});

describe('recent-events cache', () => {
  it('serves a reconnect from a recent position from memory, with no Kafka catch-up', async () => {
    const topic = await uniqueTopic('eqiad.cache', 1);
    await withService({ c: { topics: [topic] } }, {}, async (svc) => {
      const live = await openRaw(`${svc.url}/v2/stream/c`);
      await live.until((x) => x.text().startsWith(':ok'));
      await produceJson(testBrokers(), topic, range(0, 50).map((i) => ({ value: rcEvent(i, { seq: i }) })));
      await live.until((x) => x.messages().length >= 50);
      const id = live.blocks().filter((b) => b.event === 'message')[24]?.id ?? '';
      const hitsBefore = await metric(svc.url, 'eventstreams_cache_lookups_total', { result: 'hit' });
      const catchUpsBefore = await metric(svc.url, 'eventstreams_kafka_fetch_requests_total', { kind: 'catch_up' });
      const resumed = await openRaw(`${svc.url}/v2/stream/c`, { 'last-event-id': id });
      await resumed.until((x) => x.messages().length >= 25);
      expect(seqs(resumed)).toEqual(range(25, 50));
      expect(await metric(svc.url, 'eventstreams_cache_lookups_total', { result: 'hit' })).toBe(hitsBefore + 1);
      expect(await metric(svc.url, 'eventstreams_kafka_fetch_requests_total', { kind: 'catch_up' })).toBe(catchUpsBefore);
      live.close();
      resumed.close();
    });
  });
});

describe('large resumes', () => {
  it('replays far more than a client budget from the cache, paced, without calling the client slow', async () => {
    const topic = await uniqueTopic('eqiad.bigcache', 1);
    await withService({ b: { topics: [topic] } }, {}, async (svc) => {
      const live = await openRaw(`${svc.url}/v2/stream/b`);
      await live.until((x) => x.text().startsWith(':ok'));
      const pad = 'x'.repeat(1000);
      for (let batch = 0; batch < 17; batch++) {
        await produceJson(testBrokers(), topic, range(batch * 300, batch * 300 + 300).map((i) => ({ value: rcEvent(i, { seq: i, pad }) })));
      }
      await live.until((x) => x.messages().length >= 5100, 30_000);
      const firstId = live.blocks().find((b) => b.event === 'message')?.id ?? '';
      const missesBefore = await metric(svc.url, 'eventstreams_cache_lookups_total', { result: 'miss' });
      const resumed = await openRaw(`${svc.url}/v2/stream/b`, { 'last-event-id': firstId });
      await resumed.until((x) => x.messages().length >= 5099, 30_000);
      expect(seqs(resumed)).toEqual(range(1, 5100));
      expect(resumed.blocks().some((b) => b.event === 'error')).toBe(false);
      expect(await metric(svc.url, 'eventstreams_disconnects_total', { reason: 'slow_client' })).toBe(0);
      expect(await metric(svc.url, 'eventstreams_cache_lookups_total', { result: 'miss' })).toBe(missesBefore);
      live.close();
      resumed.close();
    });
  }, 60_000);

  it('hands a long catch-up over to a large cache without flooding the client', async () => {
    const topic = await uniqueTopic('eqiad.longcatchup', 1);
    const pad = 'x'.repeat(1000);
    await withService({ l: { topics: [topic] } }, { fanout: { cache_bytes_per_partition: 5_000_000 } }, async (svc) => {
      // A live client makes the feed; of the 3,000 events that follow, its cache keeps about the last 2,000.
      const live = await openRaw(`${svc.url}/v2/stream/l`);
      await live.until((x) => x.text().startsWith(':ok'));
      for (let batch = 0; batch < 10; batch++) {
        await produceJson(testBrokers(), topic, range(batch * 300, batch * 300 + 300).map((i) => ({ value: rcEvent(i, { seq: i, pad }) })));
      }
      await live.until((x) => x.messages().length >= 3000, 30_000);
      const catchUpsBefore = await metric(svc.url, 'eventstreams_kafka_fetch_requests_total', { kind: 'catch_up' });
      const resumed = await openRaw(`${svc.url}/v2/stream/l`, { 'last-event-id': JSON.stringify([{ topic, partition: 0, offset: 0 }]) });
      await resumed.until((x) => x.messages().length >= 3000, 30_000);
      expect(seqs(resumed)).toEqual(range(0, 3000));
      expect(await metric(svc.url, 'eventstreams_kafka_fetch_requests_total', { kind: 'catch_up' })).toBeGreaterThan(catchUpsBefore);
      expect(await metric(svc.url, 'eventstreams_disconnects_total', { reason: 'slow_client' })).toBe(0);
      live.close();
      resumed.close();
    });
  }, 60_000);
});

describe('catch-up readers', () => {
  it('hand clients over to the live feed with no gap and no duplicate while events keep arriving', async () => {
    const topic = await uniqueTopic('eqiad.catchup', 1);
    const since = Date.now() - 60_000;
    await produceJson(testBrokers(), topic, range(0, 500).map((i) => ({ value: rcEvent(i, { seq: i }), timestamp: since + 1 + i })));
    // A cache of a few events: every resume into the history needs a catch-up.
    await withService({ h: { topics: [topic] } }, { fanout: { cache_bytes_per_partition: 4000 } }, async (svc) => {
      const live = await openRaw(`${svc.url}/v2/stream/h`);
      await live.until((x) => x.text().startsWith(':ok'));
      const missesBefore = await metric(svc.url, 'eventstreams_cache_lookups_total', { result: 'miss' });
      let next = 500;
      const producing = (async () => {
        for (let round = 0; round < 15; round++) {
          await produceJson(testBrokers(), topic, range(next, next + 20).map((i) => ({ value: rcEvent(i, { seq: i }) })));
          next += 20;
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const startedBefore = await metric(svc.url, 'eventstreams_catch_up_readers_started_total');
      const catching = await Promise.all(range(0, 5).map((i) => openRaw(`${svc.url}/v2/stream/h`, { 'last-event-id': JSON.stringify([{ topic, partition: 0, offset: i * 7 }]) })));
      await producing;
      await Promise.all(catching.map((c) => c.until((x) => x.messages().length >= 800 - 35)));
      await new Promise((r) => setTimeout(r, 300));
      catching.forEach((c, i) => expect(seqs(c), `client ${i}`).toEqual(range(i * 7, 800)));
      expect(await metric(svc.url, 'eventstreams_cache_lookups_total', { result: 'miss' })).toBe(missesBefore + 5);
      expect(await metric(svc.url, 'eventstreams_kafka_fetch_requests_total', { kind: 'catch_up' })).toBeGreaterThan(0);
      // Five clients resuming a few offsets apart share readers instead of starting one each.
      expect((await metric(svc.url, 'eventstreams_catch_up_readers_started_total')) - startedBefore).toBeLessThan(5);
      await new Promise((r) => setTimeout(r, 500));
      expect(await metric(svc.url, 'eventstreams_catch_up_readers')).toBe(0);
      live.close();
      for (const c of catching) c.close();
    });
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A raw client of `path` that reads its stream's head, then stops reading while 16 MB of events
 * arrive on `topic` (far past the kernel's socket buffers and a 64 KiB backlog, in batches under
 * Kafka's 1 MB limit); returns once the service has evicted it as too slow.
 */
async function evictedNonReader(svc: RunningService, path: string, topic: string) {
  const socket = net.connect(Number(new URL(svc.url).port), '127.0.0.1');
  const seen = { received: '', closed: false, ended: false, error: undefined as NodeJS.ErrnoException | undefined };
  socket.on('data', (d) => (seen.received += d.toString('utf8')));
  socket.on('close', () => (seen.closed = true));
  socket.on('end', () => (seen.ended = true));
  socket.on('error', (e) => (seen.error = e));
  await new Promise((r) => socket.once('connect', r));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  // The stream starts at the end once its positions are resolved: only then does production begin.
  for (let i = 0; i < 200 && !seen.received.includes(':ok'); i++) await sleep(25);
  socket.pause();
  const pad = 'x'.repeat(1000);
  for (let batch = 0; batch < 25; batch++) {
    await produceJson(testBrokers(), topic, range(batch * 300, batch * 300 + 300).map((i) => ({ value: rcEvent(i, { seq: i, pad }) })));
  }
  const evictions = () => metric(svc.url, 'eventstreams_disconnects_total', { reason: 'slow_client' });
  for (let i = 0; i < 100 && (await evictions()) < 1; i++) await sleep(100);
  expect(await evictions()).toBe(1);
  /** The SSE blocks received so far, without the body's chunked framing. */
  const blocks = () => {
    const body = seen.received.slice(seen.received.indexOf('\r\n\r\n') + 4).replace(/\r\n[0-9a-f]+\r\n/g, '');
    return parseBlocks(body.replace(/^[0-9a-f]+\r\n/, ''));
  };
  return { socket, seen, blocks };
}

describe('flow control', () => {
  it('disconnects a client that stops reading, with an error event whose id resumes exactly', async () => {
    const topic = await uniqueTopic('eqiad.slow', 1);
    await withService({ s: { topics: [topic] } }, { fanout: { client_backlog_bytes: 65536 } }, async (svc) => {
      const { socket, seen, blocks } = await evictedNonReader(svc, '/v2/stream/s', topic);
      socket.resume();
      for (let i = 0; i < 100 && !seen.closed; i++) await sleep(100);
      expect(seen.closed).toBe(true);
      const error = blocks().at(-1);
      expect(error?.event).toBe('error');
      expect(JSON.parse(error?.data ?? '{}')).toMatchObject({ name: 'SlowClient' });
      const delivered = blocks().filter((b) => b.event === 'message').map((b) => JSON.parse(b.data ?? '{}').seq as number);
      expect(delivered).toEqual(range(0, delivered.length));
      expect(delivered.length).toBeLessThan(7500);
      const resumed = await openRaw(`${svc.url}/v2/stream/s`, { 'last-event-id': error?.id ?? '' });
      await resumed.until((x) => x.messages().length >= 5);
      expect(seqs(resumed).slice(0, 5)).toEqual(range(delivered.length, delivered.length + 5));
      resumed.close();
    });
  }, 60_000);

  it('resets a client that took nothing in the grace period after its eviction, so the kernel lets go of its buffers', async () => {
    const topic = await uniqueTopic('eqiad.neverreads', 1);
    await withService({ n: { topics: [topic] } }, { fanout: { client_backlog_bytes: 65536 } }, async (svc) => {
      const { socket, seen, blocks } = await evictedNonReader(svc, '/v2/stream/n', topic);
      // Past EVICTION_GRACE_MS (5 s) without reading: the server resets the connection instead of
      // leaving the kernel to push what it holds to a client that does not read.
      await sleep(6500);
      socket.resume();
      for (let i = 0; i < 100 && seen.error === undefined && !seen.ended; i++) await sleep(100);
      expect([seen.error?.code, seen.ended]).toEqual(['ECONNRESET', false]);
      // What arrived before the reset is a gapless start of the stream (its last event may be cut).
      const delivered = blocks()
        .filter((b) => b.event === 'message' && b.data?.endsWith('}'))
        .map((b) => JSON.parse(b.data ?? '{}').seq as number);
      expect(delivered.length).toBeGreaterThan(0);
      expect(delivered).toEqual(range(0, delivered.length));
    });
  }, 60_000);
});

describe('a client that stops reading while it catches up', () => {
  it('is disconnected, and the clients sharing its catch-up reader go on', async () => {
    const topic = await uniqueTopic('eqiad.stuckcatchup', 1);
    // Far more than the kernel's socket buffers (16 MB, in batches under Kafka's 1 MB limit), all history.
    const pad = 'x'.repeat(1000);
    for (let batch = 0; batch < 25; batch++) {
      await produceJson(testBrokers(), topic, range(batch * 300, batch * 300 + 300).map((i) => ({ value: rcEvent(i, { seq: i, pad }) })));
    }
    // A cache of a few events: both resumes from offset 0 need a catch-up reader, and they share one.
    const settings = { fanout: { cache_bytes_per_partition: 4000, client_stall_ms: 2000 } };
    await withService({ c: { topics: [topic] } }, settings, async (svc) => {
      const from = JSON.stringify([{ topic, partition: 0, offset: 0 }]);
      const port = Number(new URL(svc.url).port);
      const stuck = net.connect(port, '127.0.0.1');
      await new Promise((r) => stuck.once('connect', r));
      stuck.pause();
      stuck.write(`GET /v2/stream/c HTTP/1.1\r\nHost: x\r\nLast-Event-ID: ${from}\r\n\r\n`);
      const reader = await openRaw(`${svc.url}/v2/stream/c`, { 'last-event-id': from });
      // 10 MB through a catch-up reader in 256 KiB slices: ~16-20 s on an idle 2-core machine.
      await reader.until((x) => x.messages().length >= 7500, 60_000);
      expect(seqs(reader)).toEqual(range(0, 7500));
      expect(await metric(svc.url, 'eventstreams_catch_up_readers_started_total')).toBe(1);
      expect(await metric(svc.url, 'eventstreams_disconnects_total', { reason: 'slow_client' })).toBe(1);
      stuck.destroy();
      reader.close();
    });
  }, 90_000);
});

describe('process-wide backlog budget', () => {
  it('disconnects the client that stopped reading, not the one that reads', async () => {
    const topic = await uniqueTopic('eqiad.budget', 1);
    const settings = { fanout: { client_backlog_bytes: 64 * 1024 * 1024, total_backlog_bytes: 1024 * 1024 } };
    await withService({ g: { topics: [topic] } }, settings, async (svc) => {
      const port = Number(new URL(svc.url).port);
      const stuck = net.connect(port, '127.0.0.1');
      let head = '';
      stuck.on('data', (d) => (head += d.toString('utf8')));
      await new Promise((r) => stuck.once('connect', r));
      stuck.write('GET /v2/stream/g HTTP/1.1\r\nHost: x\r\n\r\n');
      const reader = await openRaw(`${svc.url}/v2/stream/g`);
      await reader.until((x) => x.text().startsWith(':ok'));
      for (let i = 0; i < 200 && !head.includes(':ok'); i++) await new Promise((r) => setTimeout(r, 25));
      stuck.pause();
      const pad = 'x'.repeat(1000);
      for (let batch = 0; batch < 25; batch++) {
        await produceJson(testBrokers(), topic, range(batch * 300, batch * 300 + 300).map((i) => ({ value: rcEvent(i, { seq: i, pad }) })));
      }
      // 10 MB through a catch-up reader in 256 KiB slices: ~16-20 s on an idle 2-core machine.
      await reader.until((x) => x.messages().length >= 7500, 60_000);
      expect(seqs(reader)).toEqual(range(0, 7500));
      expect(await metric(svc.url, 'eventstreams_disconnects_total', { reason: 'overloaded' })).toBe(1);
      stuck.destroy();
      reader.close();
    });
  }, 60_000);
});

describe('connection lifetime', () => {
  it('ends a stream at its maximum duration with retry advice; the client resumes without gap', async () => {
    const topic = await uniqueTopic('eqiad.maxdur', 1);
    await withService({ m: { topics: [topic] } }, { heartbeat_interval: 200, connections: { max_duration: 1, max_duration_jitter: 0, reconnect_delay_ms: 100 } }, async (svc) => {
      const first = await openRaw(`${svc.url}/v2/stream/m`);
      await first.until((x) => x.text().startsWith(':ok'));
      const opened = Date.now();
      await produceJson(testBrokers(), topic, range(0, 10).map((i) => ({ value: rcEvent(i, { seq: i }) })));
      await first.ended;
      const lasted = Date.now() - opened;
      expect(lasted).toBeGreaterThan(700);
      expect(lasted).toBeLessThan(3000);
      expect(first.text()).toMatch(/retry: \d+\n\n$/);
      expect(seqs(first)).toEqual(range(0, 10));
      const lastId = first.blocks().filter((b) => b.event === 'message').at(-1)?.id ?? '';
      await produceJson(testBrokers(), topic, range(10, 20).map((i) => ({ value: rcEvent(i, { seq: i }) })));
      const second = await openRaw(`${svc.url}/v2/stream/m`, { 'last-event-id': lastId });
      await second.until((x) => x.messages().length >= 10);
      expect(seqs(second)).toEqual(range(10, 20));
      second.close();
    });
  });

  it('drains streams gradually on shutdown, each with retry advice', async () => {
    const topic = await uniqueTopic('eqiad.drain', 1);
    const svc = await startTestService({ d: { topics: [topic] } }, { connections: { shutdown_drain_ms: 1500 } });
    const clients = await openMany(`${svc.url}/v2/stream/d`, 20);
    const endedAt: number[] = [];
    for (const c of clients) void c.ended.then(() => endedAt.push(Date.now()));
    await svc.stop();
    await Promise.all(clients.map((c) => c.ended));
    expect(endedAt).toHaveLength(20);
    expect(Math.max(...endedAt) - Math.min(...endedAt)).toBeGreaterThan(900);
    for (const c of clients) expect(c.text()).toMatch(/retry: \d+\n\n$/);
  });
});
