import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Consumer, ListOffsetTimestamps } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { StreamConfig } from '../../src/catalogue/types.ts';
import { asProduced, type JsonObject } from '../../src/demo/events.ts';
import { startDemoReplay, type DemoReplay } from '../../src/demo/replay.ts';
import { ensureTopics } from '../../src/kafka/admin.ts';
import { messagesFromFetch, type KafkaMessage } from '../../src/kafka/records.ts';
import { shippedCatalogue } from '../support/demo-schemas.ts';
import { testBrokers, uniqueTopicName } from '../support/kafka.ts';
import { exited, startMain } from '../support/main-process.ts';
import { openRaw } from '../support/sse.ts';

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

describe('the demo through the service', () => {
  it('every stream of the shipped catalogue serves events, each valid against its schema', async () => {
    const catalogue = await shippedCatalogue();
    // The shipped streams, on fresh topics of their own.
    const streams = catalogue.streams.map((s) => ({ ...s, topics: s.topics.map((t) => uniqueTopicName(t)) }));
    const dir = await mkdtemp(join(tmpdir(), 'eventstreams-demo-'));
    const config = join(dir, 'config.yaml');
    await writeFile(
      config,
      stringify({
        port: 0,
        listen_address: '127.0.0.1',
        kafka: { brokers: testBrokers() },
        schema_base_uris: [fileURLToPath(new URL('../../config/schemas', import.meta.url))],
        streams: Object.fromEntries(streams.map((s) => [s.name, { topics: s.topics, schema_title: s.schemaTitle }])),
      }),
    );
    await ensureTopics(testBrokers(), streams.flatMap((s) => s.topics.map((name) => ({ name, partitions: 1 }))));
    const { child, url } = await startMain({}, ['--config', config]);
    const done = exited(child);
    let replay: DemoReplay | undefined;
    try {
      const expected = catalogue.streams.map((s) => s.name).filter((name) => name !== 'mediawiki.page_html_feature_counts_change.v1');
      // Live, as a user of the demo sees it: the stream first, then the demo starts producing.
      const stream = await openRaw(`${url}/v2/stream/${catalogue.streams.map((s) => s.name).join(',')}`);
      // 40 recentchange events/s go through the 300 recorded in 8 s; the recorded page_change stories loop in 16 s.
      replay = await startDemoReplay({ brokers: testBrokers(), streams, ratePerSecond: 40, createTopics: false, log: { info: () => {}, warn: () => {} } });
      // Checked on each chunk, so only the text that is new since the last check is scanned.
      const seen = new Set<string>();
      let scanned = 0;
      await stream
        .until((s) => {
          const fresh = s.text().slice(Math.max(0, scanned - 200));
          scanned = s.text().length;
          for (const name of expected) if (!seen.has(name) && fresh.includes(`"stream":"${name}"`)) seen.add(name);
          return seen.size === expected.length;
        }, 60_000)
        .catch(() => {});
      stream.close();
      expect(expected.filter((name) => !seen.has(name))).toEqual([]);
      const byName = new Map(catalogue.streams.map((s) => [s.name, s]));
      const errors: string[] = [];
      for (const { data } of stream.messages()) {
        const event = data as JsonObject;
        const config = byName.get(String((event['meta'] as JsonObject)['stream']));
        if (config) errors.push(...(await catalogue.errors(config, asProduced(event))));
        else errors.push(`unexpected stream in ${JSON.stringify(event['meta'])}`);
      }
      expect([...new Set(errors)]).toEqual([]);
    } finally {
      await replay?.stop();
      child.kill('SIGTERM');
      await done;
    }
  }, 120_000);
});
