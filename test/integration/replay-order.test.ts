import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.ts';
import { rcEvent } from '../support/events.ts';
import { prng } from '../support/prng.ts';
import { produceJson, testBrokers, uniqueTopic, type TestMessage } from '../support/kafka.ts';
import { startTestService } from '../support/service.ts';
import { openRaw, type RawStream } from '../support/sse.ts';

/**
 * Replays of several partitions come in event-time order (the Kafka timestamp, which `since` and
 * ids use), merged across the four partitions of two data centres' topics, with exact resume.
 */

interface Produced {
  seq: number;
  ts: number;
  type: unknown;
  topic: string;
  partition: number;
}

interface Got {
  seq: number;
  ts: number;
  id: string;
}

const EVENTS = 1600;
const seed = Date.now() % 100_000;

let ordered: RunningService;
let unordered: RunningService;
let eqiad: string;
let codfw: string;
let t0: number;
const produced: Produced[] = [];

beforeAll(async () => {
  eqiad = await uniqueTopic('eqiad.ordered', 2);
  codfw = await uniqueTopic('codfw.ordered', 2);
  const random = prng(seed);
  const partitions: [string, number][] = [
    [eqiad, 0],
    [eqiad, 1],
    [codfw, 0],
    [codfw, 1],
  ];
  t0 = Date.now() - 3_600_000;
  let clock = t0;
  let current = 0;
  for (let seq = 0; seq < EVENTS; seq++) {
    // Runs of events on one partition, of random length; codfw/1 has events only in the first
    // tenth of the history, so it reaches its end (and goes live) long before the others.
    if (random() < 0.15) current = Math.floor(random() * 4);
    const choice = current === 3 && seq > EVENTS / 10 ? Math.floor(random() * 3) : current;
    const [topic, partition] = partitions[choice]!;
    // Runs of events share a millisecond, also across partitions.
    if (random() < 0.6) clock += 1 + Math.floor(random() * 50);
    const event = rcEvent(seq, { seq, ts: clock });
    produced.push({ seq, ts: clock, type: event.type, topic, partition });
  }
  const brokers = testBrokers();
  for (const topic of [eqiad, codfw]) {
    const messages: TestMessage[] = produced.filter((p) => p.topic === topic).map((p) => ({ partition: p.partition, value: rcEvent(p.seq, { seq: p.seq, ts: p.ts }), timestamp: p.ts }));
    await produceJson(brokers, topic, messages);
  }
  const streams = { ordered: { topics: [eqiad, codfw] } };
  // A small lookahead, so readers wait for each other all through the replay; a wait long enough
  // that a merge stalled on a partition that has ended would time the test out.
  ordered = await startTestService(streams, { fanout: { replay_lookahead_bytes: 4096, replay_order_wait_ms: 60_000 } });
  unordered = await startTestService(streams, { fanout: { replay_lookahead_bytes: 0 } });
}, 60_000);

afterAll(async () => {
  await ordered?.stop();
  await unordered?.stop();
});

/** Reads `count` events (or fails after the timeout), then closes the connection. */
async function read(service: RunningService, query: string, count: number, lastEventId?: string): Promise<Got[]> {
  const stream: RawStream = await openRaw(`${service.url}/v2/stream/ordered?${query}`, lastEventId === undefined ? {} : { 'last-event-id': lastEventId });
  try {
    await stream.until((s) => s.messages().length >= count, 30_000);
    return stream
      .blocks()
      .filter((b) => b.event === 'message')
      .slice(0, count)
      .map((b) => {
        const data = JSON.parse(b.data ?? '{}') as { seq: number; ts: number };
        return { seq: data.seq, ts: data.ts, id: b.id ?? '' };
      });
  } finally {
    stream.close();
  }
}

function expectTimeOrder(got: readonly Got[]): void {
  const inversions = got.filter((g, i) => i > 0 && g.ts < got[i - 1]!.ts).length;
  expect(inversions, `seed ${seed}`).toBe(0);
}

describe('replay in time order across partitions', () => {
  it('serves a since replay of 4 partitions in time order, with no gap and no duplicate', async () => {
    const got = await read(ordered, `since=${t0}`, EVENTS);
    expectTimeOrder(got);
    expect(got.map((g) => g.seq).sort((a, b) => a - b), `seed ${seed}`).toEqual(produced.map((p) => p.seq));
    // The ids carry every partition's position.
    expect(JSON.parse(got.at(-1)!.id)).toHaveLength(4);
  });

  it('comes partition by partition in runs without the merge (the control)', async () => {
    const got = await read(unordered, `since=${t0}`, EVENTS);
    expect(got.filter((g, i) => i > 0 && g.ts < got[i - 1]!.ts).length).toBeGreaterThan(0);
  });

  it('resumes exactly from an id taken mid-merge', async () => {
    const random = prng(seed + 1);
    const first = await read(ordered, `since=${t0}`, 200 + Math.floor(random() * (EVENTS - 400)));
    const last = first.at(-1)!;
    const rest = await read(ordered, '', EVENTS - first.length, last.id);
    expectTimeOrder(rest);
    const seqs = [...first, ...rest].map((g) => g.seq);
    expect(new Set(seqs).size, `seed ${seed}: no duplicate`).toBe(seqs.length);
    expect(seqs.sort((a, b) => a - b), `seed ${seed}: no gap`).toEqual(produced.map((p) => p.seq));
  });

  it('keeps order and exact resume with a filter that drops events', async () => {
    const edits = produced.filter((p) => p.type === 'edit').map((p) => p.seq);
    expect(edits.length).toBeGreaterThan(100);
    expect(edits.length).toBeLessThan(EVENTS);
    const all = await read(ordered, `since=${t0}&type=edit`, edits.length);
    expectTimeOrder(all);
    expect(all.map((g) => g.seq).sort((a, b) => a - b)).toEqual(edits);

    const first = await read(ordered, `since=${t0}&type=edit`, Math.floor(edits.length / 3));
    const rest = await read(ordered, 'type=edit', edits.length - first.length, first.at(-1)!.id);
    expectTimeOrder(rest);
    const seqs = [...first, ...rest].map((g) => g.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs.sort((a, b) => a - b)).toEqual(edits);
  });

  it('goes on live once the replay is done', async () => {
    const stream = await openRaw(`${ordered.url}/v2/stream/ordered?since=${t0}`);
    try {
      await stream.until((s) => s.messages().length >= EVENTS, 30_000);
      const now = Date.now();
      await produceJson(testBrokers(), eqiad, [0, 1].map((partition) => ({ partition, value: rcEvent(EVENTS + partition, { seq: EVENTS + partition, ts: now }), timestamp: now })));
      await produceJson(testBrokers(), codfw, [0, 1].map((partition) => ({ partition, value: rcEvent(EVENTS + 2 + partition, { seq: EVENTS + 2 + partition, ts: now }), timestamp: now })));
      await stream.until((s) => s.messages().length >= EVENTS + 4, 15_000);
      const live = stream.messages().slice(EVENTS).map((m) => (m.data as { seq: number }).seq);
      expect(live.sort((a, b) => a - b)).toEqual([EVENTS, EVENTS + 1, EVENTS + 2, EVENTS + 3]);
    } finally {
      stream.close();
    }
  });
});
