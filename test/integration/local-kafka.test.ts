import { Admin, Consumer, ListOffsetTimestamps } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteTopics, ensureTopics } from '../../src/kafka/admin.ts';
import { produceJson, testBrokers, uniqueTopicName } from '../support/kafka.ts';

// Uses the broker of the global setup; starts nothing itself.
describe('local kafka broker', () => {
  const topic = uniqueTopicName('local-kafka');
  const t0 = Date.UTC(2024, 0, 15, 12, 0, 0); // explicit, well in the past
  let brokers: string[];
  let consumer: Consumer;
  let admin: Admin;

  beforeAll(() => {
    brokers = testBrokers();
    // Group-less use only: the groupId is required by the constructor but never sent.
    consumer = new Consumer({ groupId: 'unused-no-group', clientId: 'local-kafka-test', bootstrapBrokers: brokers });
    admin = new Admin({ clientId: 'local-kafka-test-admin', bootstrapBrokers: brokers });
  });

  afterAll(async () => {
    await consumer?.close();
    await admin?.close();
  });

  it('ensureTopics is idempotent', async () => {
    await ensureTopics(brokers, [{ name: topic, partitions: 2 }]);
    await ensureTopics(brokers, [{ name: topic, partitions: 2 }]);
    const md = await admin.metadata({ topics: [topic], forceUpdate: true });
    const t = md.topics.get(topic);
    expect(t?.partitionsCount).toBe(2);
    expect(t?.partitions.every((p) => p.leader === 1)).toBe(true);
    expect(await admin.listTopics()).toContain(topic);
  });

  it('produces with explicit timestamps and returns offsets', async () => {
    const produced = await produceJson(brokers, topic, [
      { partition: 0, key: 'a', value: { n: 0 }, timestamp: t0 },
      { partition: 1, value: { n: 1 }, timestamp: t0 + 500 },
      { partition: 0, key: 'b', value: { n: 2 }, timestamp: t0 + 1_000 },
      { partition: 0, value: Buffer.from('not json'), timestamp: t0 + 2_000 },
      { partition: 1, key: 'gone', value: null, timestamp: t0 + 1_500 },
    ]);
    expect(produced.map((p) => [p.partition, p.offset])).toEqual([
      [0, 0n],
      [1, 0n],
      [0, 1n],
      [0, 2n],
      [1, 1n],
    ]);
    // A second send continues the offsets.
    const more = await produceJson(brokers, topic, [{ partition: 1, value: 'x', timestamp: t0 + 3_000 }]);
    expect(more).toEqual([{ partition: 1, offset: 2n, timestamp: t0 + 3_000 }]);
  });

  it('lists earliest, latest and by-timestamp offsets without a group', async () => {
    const earliest = await consumer.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.EARLIEST });
    expect(earliest.get(topic)).toEqual([0n, 0n]);

    const latest = await consumer.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.LATEST });
    expect(latest.get(topic)).toEqual([3n, 3n]);

    // First offset whose timestamp is >= the one asked for.
    const at1000 = await consumer.listOffsets({ topics: [topic], timestamp: BigInt(t0 + 1_000) });
    expect(at1000.get(topic)).toEqual([1n, 1n]);

    const withTs = await consumer.listOffsetsWithTimestamps({ topics: [topic], timestamp: BigInt(t0 + 1_001) });
    expect(withTs.get(topic)?.get(0)).toEqual({ offset: 2n, timestamp: BigInt(t0 + 2_000) });
    expect(withTs.get(topic)?.get(1)).toEqual({ offset: 1n, timestamp: BigInt(t0 + 1_500) });

    // Nothing at or after: -1.
    const future = await consumer.listOffsets({ topics: [topic], timestamp: BigInt(t0 + 60_000) });
    expect(future.get(topic)).toEqual([-1n, -1n]);

    // One partition only.
    const p1 = await consumer.listOffsets({ topics: [topic], partitions: { [topic]: [1] }, timestamp: ListOffsetTimestamps.LATEST });
    expect(p1.get(topic)?.[1]).toBe(3n);
  });

  it('ensureTopics grows a topic that has fewer partitions than asked', async () => {
    await ensureTopics(brokers, [{ name: topic, partitions: 3 }]);
    const md = await admin.metadata({ topics: [topic], forceUpdate: true });
    expect(md.topics.get(topic)?.partitionsCount).toBe(3);
  });

  it('deleteTopics removes the topic and ignores missing ones', async () => {
    await deleteTopics(brokers, [topic]);
    expect(await admin.listTopics()).not.toContain(topic);
    await deleteTopics(brokers, [topic, uniqueTopicName('never-created')]);
  });
});
