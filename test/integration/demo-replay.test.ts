import { setTimeout as sleep } from 'node:timers/promises';
import { Consumer, ListOffsetTimestamps } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamConfig } from '../../src/catalogue/types.ts';
import { startDemoReplay, type DemoReplay } from '../../src/demo/replay.ts';
import { messagesFromFetch, type KafkaMessage } from '../../src/kafka/records.ts';
import { testBrokers, uniqueTopicName } from '../support/kafka.ts';

/** A real stream name (so the recordings apply) on fresh topics of its own. */
function fakeStream(name: string, schemaUri: string): StreamConfig {
  return {
    name,
    aliases: [],
    topics: [uniqueTopicName(`eqiad.${name}`), uniqueTopicName(`codfw.${name}`)],
    schemaTitle: schemaUri.replace(/^\//, '').replace(/\/\d+\.\d+\.\d+$/, ''),
    schemaUri,
    dropCanaryEvents: true,
  };
}

interface Event {
  meta: { id: string; dt: string; domain: string; stream: string; topic?: string };
  id?: number;
  type?: string;
}

async function fetchAll(consumer: Consumer, topic: string): Promise<KafkaMessage[]> {
  const metadata = await consumer.metadata({ topics: [topic] });
  const info = metadata.topics.get(topic);
  const leader = info?.partitions[0]?.leader;
  if (info === undefined || leader === undefined) throw new Error(`no leader for ${topic}`);
  const response = await consumer.fetch({
    node: leader,
    topics: [{ topicId: info.id, partitions: [{ partition: 0, fetchOffset: 0n, currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: 8 << 20 }] }],
    maxWaitTime: 500,
    minBytes: 1,
  });
  const key = (t: string, p: number): string => `${t}:${p}`;
  return messagesFromFetch(response, new Map([[info.id, topic]]), new Map([[key(topic, 0), 0]]), key).messages;
}

describe('startDemoReplay against the test broker', () => {
  const recentchange = fakeStream('mediawiki.recentchange', '/mediawiki/recentchange/1.0.0');
  const pageChange = fakeStream('mediawiki.page_change.v1', '/mediawiki/page/change/1.2.0');
  const topics = [...recentchange.topics, ...pageChange.topics];
  const warnings: unknown[] = [];
  let brokers: string[];
  let consumer: Consumer;
  let replay: DemoReplay;
  let startedMs: number;
  let stoppedMs: number;

  beforeAll(async () => {
    brokers = testBrokers();
    consumer = new Consumer({ groupId: 'unused-demo-replay-test', clientId: 'demo-replay-test', bootstrapBrokers: brokers });
    startedMs = Date.now();
    // 200 recentchange/s loops the 300 recorded events within 2 s; page_change runs at 80/s.
    replay = await startDemoReplay({
      brokers,
      streams: [recentchange, pageChange],
      ratePerSecond: 200,
      tickMs: 50,
      log: { info: () => {}, warn: (o: object | string) => warnings.push(o) },
    });
    await sleep(2_000);
    await replay.stop();
    stoppedMs = Date.now();
  });

  afterAll(async () => {
    await consumer?.close();
  });

  it('produced into both data-centre topics of both streams, mostly the first', async () => {
    const latest = await consumer.listOffsets({ topics, timestamp: ListOffsetTimestamps.LATEST });
    const count = (topic: string): number => Number(latest.get(topic)?.[0] ?? -1);
    for (const topic of topics) expect(count(topic), topic).toBeGreaterThan(1);
    expect(count(recentchange.topics[0] ?? '')).toBeGreaterThan(5 * count(recentchange.topics[1] ?? ''));
    // Every acknowledged message is in Kafka, once.
    expect(topics.reduce((sum, t) => sum + count(t), 0)).toBe(replay.produced());
    expect(replay.produced()).toBeGreaterThan(300);
    expect(warnings).toEqual([]);
  });

  it('writes fresh, valid events with a canary first and never sets meta.topic', async () => {
    const [eqiad, codfw] = await Promise.all(recentchange.topics.map((t) => fetchAll(consumer, t)));
    for (const first of [eqiad?.[0], codfw?.[0]]) {
      const canary = JSON.parse(first?.value?.toString() ?? 'null') as Event;
      expect(canary.meta.domain).toBe('canary');
      expect(canary.meta.stream).toBe('mediawiki.recentchange');
    }
    const messages = [...(eqiad ?? []), ...(codfw ?? [])];
    const events = messages.map((m) => JSON.parse(m.value?.toString() ?? 'null') as Event);
    for (const [i, e] of events.entries()) {
      const dt = Date.parse(e.meta.dt);
      expect(dt).toBeGreaterThanOrEqual(startedMs - 1_000);
      expect(dt).toBeLessThanOrEqual(stoppedMs);
      expect(Math.abs((messages[i]?.timestamp ?? 0) - dt)).toBeLessThan(1_000);
      expect(e.meta).not.toHaveProperty('topic');
      expect(messages[i]?.key).toBeNull();
    }
    const real = events.filter((e) => e.meta.domain !== 'canary');
    expect(new Set(events.map((e) => e.meta.id)).size).toBe(events.length);
    // The recording looped, yet no recentchange id repeats.
    expect(real.length).toBeGreaterThan(300);
    const rcids = real.flatMap((e) => (typeof e.id === 'number' ? [e.id] : []));
    expect(new Set(rcids).size).toBe(rcids.length);
  });

  it('keys page_change messages like EventBus', async () => {
    const messages = await fetchAll(consumer, pageChange.topics[1] ?? '');
    const real = messages.filter((m) => !(m.value?.toString() ?? '').includes('"domain":"canary"'));
    expect(real.length).toBeGreaterThan(0);
    for (const m of real) expect(JSON.parse(m.key?.toString() ?? 'null')).toEqual({ wiki_id: expect.any(String), page_id: expect.any(Number) });
  });
});

describe('startDemoReplay when producing fails', () => {
  it('logs, keeps running and stops cleanly', async () => {
    const warnings: string[] = [];
    // Topics that do not exist, and nobody creates them: every batch fails.
    const missing = fakeStream('mediawiki.recentchange', '/mediawiki/recentchange/1.0.0');
    const replay = await startDemoReplay({
      brokers: testBrokers(),
      streams: [missing],
      createTopics: false,
      log: { info: () => {}, warn: (_o: object | string, msg?: string) => warnings.push(msg ?? '') },
    });
    await sleep(300);
    await replay.stop();
    expect(replay.produced()).toBe(0);
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings[0]).toMatch(/produce failed/);
  });
});
