import { Admin } from '@platformatic/kafka';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.ts';
import { rcEvent } from '../support/events.ts';
import { prng } from '../support/prng.ts';
import { produceJson, testBrokers, uniqueTopic, type TestMessage } from '../support/kafka.ts';
import { startTestService } from '../support/service.ts';
import { openRaw } from '../support/sse.ts';

interface Received {
  lastEventId: string;
  events: { topic: string; partition: number; seq: number }[];
}

/** Connects with npm `eventsource`, sending `lastEventId` like a resuming client, until `count` events or `quietMs` of silence. */
function receive(url: string, lastEventId: string | undefined, count: number, quietMs = 1500): Promise<Received> {
  return new Promise((resolve, reject) => {
    const out: Received = { lastEventId: lastEventId ?? '', events: [] };
    const es = new EventSource(url, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) } }),
    });
    let quiet: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(quiet);
      es.close();
      resolve(out);
    };
    const arm = () => {
      clearTimeout(quiet);
      quiet = setTimeout(finish, quietMs);
    };
    es.addEventListener('open', arm);
    es.addEventListener('message', (event) => {
      const data = JSON.parse(event.data) as { seq: number; meta: { topic: string; partition: number } };
      out.events.push({ topic: data.meta.topic, partition: data.meta.partition, seq: data.seq });
      out.lastEventId = event.lastEventId;
      if (out.events.length >= count) finish();
      else arm();
    });
    es.addEventListener('error', (event) => {
      clearTimeout(quiet);
      es.close();
      reject(new Error(`EventSource error: ${event.message ?? 'unknown'}`));
    });
  });
}

const key = (topic: string, partition: number) => `${topic}/${partition}`;

let service: RunningService;
let a: string;
let b: string;
let sameMs: string;

beforeAll(async () => {
  a = await uniqueTopic('eqiad.resume', 2);
  b = await uniqueTopic('codfw.resume', 1);
  sameMs = await uniqueTopic('eqiad.samems', 1);
  service = await startTestService({ resume: { topics: [a, b] }, 'same-ms': { topics: [sameMs] } }, { heartbeat_interval: 1000 });
});

afterAll(async () => {
  await service?.stop();
});

describe.each([
  ['timestamp ids', false],
  ['offset ids', true],
])('resume across random disconnects with %s', (_name, byOffset) => {
  it('delivers every event exactly once, in order per partition, across topics and partitions', async () => {
    const seed = Date.now() % 100000;
    const random = prng(seed);
    const brokers = testBrokers();
    const topicA = await uniqueTopic(`eqiad.rr${byOffset ? 'o' : 't'}`, 2);
    const topicB = await uniqueTopic(`codfw.rr${byOffset ? 'o' : 't'}`, 1);
    const svc = await startTestService({ rr: { topics: [topicA, topicB] } });
    try {
      const produced = new Map<string, number[]>();
      let seq = 0;
      let clock = Date.now() - 100_000;
      const produceRound = async (round: number) => {
        const messages: (TestMessage & { topic: string })[] = [];
        for (let i = 0; i < 15; i++) {
          // Partition a/1 stays empty until round 3, so it first fills while the client is away.
          const choices: [string, number][] = round < 3 ? [[topicA, 0], [topicB, 0]] : [[topicA, 0], [topicA, 1], [topicB, 0]];
          const [topic, partition] = choices[Math.floor(random() * choices.length)] ?? [topicA, 0];
          // Runs of events share a millisecond, as they do in production.
          if (random() < 0.6) clock += 1;
          messages.push({ topic, partition, value: rcEvent(seq, { seq }), timestamp: clock });
          const list = produced.get(key(topic, partition)) ?? [];
          list.push(seq++);
          produced.set(key(topic, partition), list);
        }
        for (const topic of [topicA, topicB]) await produceJson(brokers, topic, messages.filter((m) => m.topic === topic));
      };

      const url = `${svc.url}/v2/stream/rr?since=${clock - 1}`;
      let lastId = byOffset
        ? JSON.stringify([{ topic: topicA, partition: 0, offset: 0 }, { topic: topicA, partition: 1, offset: 0 }, { topic: topicB, partition: 0, offset: 0 }])
        : undefined;
      const received = new Map<string, number[]>();
      for (let round = 0; round < 6; round++) {
        await produceRound(round);
        const got = await receive(url, lastId, 1 + Math.floor(random() * 20), 800);
        for (const e of got.events) {
          const list = received.get(key(e.topic, e.partition)) ?? [];
          list.push(e.seq);
          received.set(key(e.topic, e.partition), list);
        }
        if (got.lastEventId !== '') lastId = got.lastEventId;
        if (byOffset && got.events.length > 0) expect(JSON.parse(lastId ?? '[]').every((p: { offset?: number }) => p.offset !== undefined)).toBe(true);
      }
      // Drain the rest.
      const total = [...produced.values()].reduce((n, l) => n + l.length, 0);
      const already = [...received.values()].reduce((n, l) => n + l.length, 0);
      if (total > already) {
        const rest = await receive(url, lastId, total - already, 3000);
        for (const e of rest.events) {
          const list = received.get(key(e.topic, e.partition)) ?? [];
          list.push(e.seq);
          received.set(key(e.topic, e.partition), list);
        }
      }
      expect(Object.fromEntries(received), `seed ${seed}`).toEqual(Object.fromEntries(produced));
    } finally {
      await svc.stop();
    }
  });
});

describe('resume inside a millisecond', () => {
  it('does not skip later events that share the last delivered timestamp (ts_seen)', async () => {
    const ts = Date.now() - 5000;
    await produceJson(testBrokers(), sameMs, Array.from({ length: 6 }, (_, i) => ({ value: rcEvent(i, { seq: i }), timestamp: ts })));
    const first = await openRaw(`${service.url}/v2/stream/same-ms?since=${ts}`);
    await first.until((s) => s.messages().length >= 6);
    // Resume as if the connection had dropped after the third event.
    const third = first.blocks().filter((b) => b.event === 'message')[2];
    first.close();
    expect(JSON.parse(third?.id ?? '[]')).toEqual([{ topic: sameMs, partition: 0, timestamp: ts + 1, ts_seen: 3 }]);
    const resumed = await openRaw(`${service.url}/v2/stream/same-ms`, { 'last-event-id': third?.id ?? '' });
    try {
      await resumed.until((s) => s.messages().length >= 3);
      await new Promise((r) => setTimeout(r, 300));
      expect(resumed.messages().map((m) => m.data.seq)).toEqual([3, 4, 5]);
    } finally {
      resumed.close();
    }
  });
});

describe('positions Kafka no longer has', () => {
  it('starts at the earliest retained event and says so when the offset was deleted', async () => {
    const topic = await uniqueTopic('eqiad.expired', 1);
    await produceJson(testBrokers(), topic, Array.from({ length: 6 }, (_, i) => ({ value: rcEvent(i, { seq: i }) })));
    const admin = new Admin({ clientId: 'test-admin', bootstrapBrokers: testBrokers() });
    try {
      await admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition: 0, offset: 4n }] }] });
    } finally {
      await admin.close();
    }
    const svc = await startTestService({ expired: { topics: [topic] } });
    try {
      const s = await openRaw(`${svc.url}/v2/stream/expired`, { 'last-event-id': JSON.stringify([{ topic, partition: 0, offset: 1 }]) });
      await s.until((x) => x.messages().length >= 2);
      const notice = JSON.parse(s.blocks().find((b) => b.event === 'notice')?.data ?? '{}');
      expect(notice.positions).toEqual([expect.objectContaining({ topic, partition: 0, offset: 4, reason: 'offset_before_earliest' })]);
      expect(s.messages().map((m) => m.data.seq)).toEqual([4, 5]);
      s.close();
    } finally {
      await svc.stop();
    }
  });
});

describe('canary events', () => {
  it('are dropped by default and kept for a stream that opts out', async () => {
    const topic = await uniqueTopic('eqiad.canary', 1);
    const since = Date.now() - 1000;
    await produceJson(testBrokers(), topic, [
      { value: rcEvent(0, { seq: 0 }) },
      { value: { $schema: '/mediawiki/recentchange/1.0.0', meta: { domain: 'canary', stream: 'x' }, seq: 1 } },
      { value: rcEvent(2, { seq: 2 }) },
    ]);
    const svc = await startTestService({ dropping: { topics: [topic] }, keeping: { topics: [topic], drop_canary_events: false } });
    try {
      const dropped = await openRaw(`${svc.url}/v2/stream/dropping?since=${since}`);
      const kept = await openRaw(`${svc.url}/v2/stream/keeping?since=${since}`);
      await kept.until((x) => x.messages().length >= 3);
      await dropped.until((x) => x.messages().length >= 2);
      await new Promise((r) => setTimeout(r, 300));
      expect(dropped.messages().map((m) => m.data.seq)).toEqual([0, 2]);
      expect(kept.messages().map((m) => m.data.seq)).toEqual([0, 1, 2]);
      // All three share a millisecond: the dropped canary still counts, so a resume does not read it again.
      expect(dropped.messages()[1]?.id).toEqual([{ topic, partition: 0, timestamp: expect.any(Number), ts_seen: 3 }]);
      dropped.close();
      kept.close();
    } finally {
      await svc.stop();
    }
  });
});

describe('bad data in Kafka', () => {
  it('skips messages that are not JSON objects and keeps streaming', async () => {
    const topic = await uniqueTopic('eqiad.bad', 1);
    const since = Date.now() - 1000;
    await produceJson(testBrokers(), topic, [
      { value: rcEvent(0, { seq: 0 }) },
      { value: Buffer.from('not json {') },
      { value: null },
      { value: [1, 2, 3] },
      { value: rcEvent(4, { seq: 4 }) },
    ]);
    const svc = await startTestService({ bad: { topics: [topic] } });
    try {
      const s = await openRaw(`${svc.url}/v2/stream/bad?since=${since}`);
      await s.until((x) => x.messages().length >= 2);
      expect(s.messages().map((m) => m.data.seq)).toEqual([0, 4]);
      s.close();
    } finally {
      await svc.stop();
    }
  });
});

describe('shutdown', () => {
  it('ends every open stream with retry advice, and EventSource clients resume with their id', async () => {
    const topic = await uniqueTopic('eqiad.shutdown', 1);
    const svc = await startTestService({ sd: { topics: [topic] } });
    try {
      const since = Date.now() - 1000;
      await produceJson(testBrokers(), topic, [{ value: rcEvent(0, { seq: 0 }) }]);
      const raw = await openRaw(`${svc.url}/v2/stream/sd?since=${since}`);
      const seen: number[] = [];
      const es = new EventSource(`${svc.url}/v2/stream/sd?since=${since}`);
      es.addEventListener('message', (e) => seen.push((JSON.parse(e.data) as { seq: number }).seq));
      await raw.until((x) => x.messages().length >= 1);
      await new Promise((r) => setTimeout(r, 300));
      await svc.sessions.drain(0, 100);
      await raw.ended;
      // Reconnection advice between 100 and 200 ms: the random part spreads reconnects.
      const retry = Number(/retry: (\d+)\n\n$/.exec(raw.text())?.[1]);
      expect(retry).toBeGreaterThanOrEqual(100);
      expect(retry).toBeLessThanOrEqual(200);
      // The EventSource reconnects after that with its Last-Event-ID: new events arrive, nothing repeats.
      await new Promise((r) => setTimeout(r, 500));
      await produceJson(testBrokers(), topic, [{ value: rcEvent(1, { seq: 1 }) }]);
      await new Promise((r) => setTimeout(r, 1500));
      es.close();
      expect(seen).toEqual([0, 1]);
    } finally {
      await svc.stop();
    }
  });
});
