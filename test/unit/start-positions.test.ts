import { describe, expect, it } from 'vitest';
import { PositionError, resolveAssignment, type OffsetLookup } from '../../src/kafka/start-positions.ts';
import { partitionKey, type TopicPartition } from '../../src/protocol/position.ts';

/** An in-memory model of Kafka's ListOffsets rules over retained message timestamps. */
function logs(topics: Record<string, { start?: number; timestamps: number[] }[]>): OffsetLookup {
  const get = (tp: TopicPartition) => {
    const log = topics[tp.topic]?.[tp.partition];
    if (log === undefined) throw new Error('no such partition');
    return { start: log.start ?? 0, timestamps: log.timestamps };
  };
  return {
    async partitionCounts(names) {
      return new Map(names.filter((n) => topics[n] !== undefined).map((n) => [n, topics[n]?.length ?? 0]));
    },
    async bounds(tps) {
      return new Map(tps.map((tp) => {
        const { start, timestamps } = get(tp);
        return [partitionKey(tp.topic, tp.partition), { earliest: start, latest: start + timestamps.length }];
      }));
    },
    async offsetsForTimestamp(tps, ts) {
      return new Map(tps.map((tp) => {
        const { start, timestamps } = get(tp);
        const i = timestamps.findIndex((t) => t >= ts);
        return [partitionKey(tp.topic, tp.partition), i < 0 ? undefined : start + i];
      }));
    },
    async maxTimestamps(tps) {
      return new Map(tps.flatMap((tp) => {
        const { start, timestamps } = get(tp);
        if (timestamps.length === 0) return [];
        const timestamp = Math.max(...timestamps);
        return [[partitionKey(tp.topic, tp.partition), { offset: start + timestamps.indexOf(timestamp), timestamp }] as const];
      }));
    },
  };
}

const now = 10_000;
const rc = logs({
  'eqiad.rc': [{ timestamps: [100, 200, 200, 200, 300] }, { start: 3, timestamps: [150, 250] }],
  'codfw.rc': [{ timestamps: [] }],
});
const allowed = ['eqiad.rc', 'codfw.rc'];

describe('resolveAssignment', () => {
  it('starts every partition of every allowed topic at the end when nothing is asked', async () => {
    const { starts, dropped, missingTopics } = await resolveAssignment({ topics: allowed, allowedTopics: allowed, positions: [], now }, rc);
    expect(starts).toEqual([
      // In time too: after the newest event (300, at offset 4), 1 event from the first of 300 on.
      { topic: 'eqiad.rc', partition: 0, offset: 5, after: { timestamp: 301, tsSeen: 1 } },
      { topic: 'eqiad.rc', partition: 1, offset: 5, after: { timestamp: 251, tsSeen: 1 } },
      // An empty partition has no event to place the start after.
      { topic: 'codfw.rc', partition: 0, offset: 0 },
    ]);
    expect(dropped).toEqual([]);
    expect(missingTopics).toEqual([]);
  });

  it('places a start at the end in time so that it resumes at the same event in another data centre, whatever its offsets', async () => {
    // The same events (timestamps, in order) after different histories; runs share a millisecond,
    // and in the last log the newest timestamp is not the last event's.
    const shared = [[500, 600, 600, 600], [500, 600, 600], [500, 700, 650, 650]];
    for (const events of shared) {
      const here = logs({ t: [{ start: 7, timestamps: [100, 200, ...events] }] });
      const there = logs({ t: [{ start: 40, timestamps: [50, 60, 70, 80, 90, ...events, 900, 950] }] });
      const { starts } = await resolveAssignment({ topics: ['t'], allowedTopics: ['t'], positions: [], now }, here);
      const after = starts[0]?.after;
      expect(after, JSON.stringify(events)).toBeDefined();
      // The id of a partition that delivered nothing, sent to the other data centre.
      const resumed = await resolveAssignment({ topics: ['t'], allowedTopics: ['t'], positions: [{ topic: 't', partition: 0, timestamp: after!.timestamp, tsSeen: after!.tsSeen }], now }, there);
      // There, the next event is 900, at offset 40 + 5 + the shared events.
      expect(resumed.starts[0]?.offset, JSON.stringify(events)).toBe(45 + events.length);
      expect(resumed.starts[0]?.notice).toBeUndefined();
    }
  });

  it('keeps starts at the end in offsets when the broker cannot tell the newest timestamp (before Kafka 3.0)', async () => {
    const old: OffsetLookup = { ...rc, maxTimestamps: () => Promise.reject(new Error('UNSUPPORTED_VERSION')) };
    const { starts } = await resolveAssignment({ topics: ['eqiad.rc'], allowedTopics: ['eqiad.rc'], positions: [], now }, old);
    expect(starts).toEqual([
      { topic: 'eqiad.rc', partition: 0, offset: 5 },
      { topic: 'eqiad.rc', partition: 1, offset: 5 },
    ]);
  });

  it('keeps the offset of a start at the end when a client named a partition by offset, or none was placed in time', async () => {
    const { starts } = await resolveAssignment(
      { topics: allowed, allowedTopics: allowed, positions: [{ topic: 'eqiad.rc', partition: 0, offset: 99 }, { topic: 'eqiad.rc', partition: 1, offset: -1 }], now },
      rc,
    );
    // Beyond the end: a notice, and no place in time for a position the client did not ask for.
    expect(starts[0]).toMatchObject({ offset: 5, notice: 'offset_beyond_end' });
    expect(starts[0]?.after).toBeUndefined();
    // -1, the end, is placed in time like no position at all.
    expect(starts[1]).toMatchObject({ offset: 5, after: { timestamp: 251, tsSeen: 1 } });
  });

  it('resolves since to the first event at or after it in every partition', async () => {
    const { starts } = await resolveAssignment({ topics: allowed, allowedTopics: allowed, positions: [], since: 200, now }, rc);
    expect(starts.map((s) => [s.topic, s.partition, s.offset, s.notice])).toEqual([
      ['eqiad.rc', 0, 1, undefined],
      ['eqiad.rc', 1, 4, undefined],
      ['codfw.rc', 0, 0, undefined],
    ]);
  });

  it('tells when since is older than retention', async () => {
    const { starts } = await resolveAssignment({ topics: ['eqiad.rc'], allowedTopics: ['eqiad.rc'], positions: [], since: 1, now }, rc);
    expect(starts[1]).toMatchObject({ partition: 1, offset: 3, notice: 'timestamp_before_retention' });
    expect(starts[0]).toMatchObject({ partition: 0, offset: 0 });
    expect(starts[0]?.notice).toBeUndefined();
  });

  it('tells when since is in the future and starts at the end', async () => {
    const { starts } = await resolveAssignment({ topics: ['eqiad.rc'], allowedTopics: ['eqiad.rc'], positions: [], since: now + 60_000, now }, rc);
    expect(starts[0]).toMatchObject({ offset: 5, notice: 'timestamp_in_future' });
  });

  it('a timestamp after the last event is an exact resume at the end, without a notice', async () => {
    const { starts } = await resolveAssignment({ topics: ['eqiad.rc'], allowedTopics: ['eqiad.rc'], positions: [{ topic: 'eqiad.rc', partition: 0, timestamp: 301 }], now }, rc);
    expect(starts).toEqual([
      { topic: 'eqiad.rc', partition: 0, offset: 5, requested: { topic: 'eqiad.rc', partition: 0, timestamp: 301 } },
      expect.objectContaining({ partition: 1, notice: 'partition_not_in_id', requested: { since: 301 } }),
    ]);
  });

  it('uses ts_seen to resume inside a millisecond without skipping or repeating', async () => {
    for (const [seen, offset] of [[1, 2], [2, 3], [3, 4], [9, 4]] as const) {
      const { starts } = await resolveAssignment(
        { topics: ['eqiad.rc'], allowedTopics: ['eqiad.rc'], positions: [{ topic: 'eqiad.rc', partition: 0, timestamp: 201, tsSeen: seen }, { topic: 'eqiad.rc', partition: 1, offset: 5 }], now },
        rc,
      );
      expect(starts[0]?.offset, `ts_seen ${seen}`).toBe(offset);
    }
  });

  it('without ts_seen keeps the original semantics: first event at or after the timestamp', async () => {
    const { starts } = await resolveAssignment({ topics: ['eqiad.rc'], allowedTopics: ['eqiad.rc'], positions: [{ topic: 'eqiad.rc', partition: 0, timestamp: 201 }], now }, rc);
    expect(starts[0]?.offset).toBe(4);
  });

  it('offsets win over timestamps and are clamped into the log with a notice', async () => {
    const { starts } = await resolveAssignment(
      {
        topics: ['eqiad.rc'],
        allowedTopics: ['eqiad.rc'],
        positions: [
          { topic: 'eqiad.rc', partition: 0, offset: 2, timestamp: 300 },
          { topic: 'eqiad.rc', partition: 1, offset: 1 },
        ],
        now,
      },
      rc,
    );
    expect(starts.map((s) => [s.offset, s.notice])).toEqual([[2, undefined], [3, 'offset_before_earliest']]);
    const beyond = await resolveAssignment({ topics: ['eqiad.rc'], allowedTopics: ['eqiad.rc'], positions: [{ topic: 'eqiad.rc', partition: 0, offset: 99 }, { topic: 'eqiad.rc', partition: 1, offset: 5 }], now }, rc);
    expect(beyond.starts[0]).toMatchObject({ offset: 5, notice: 'offset_beyond_end' });
  });

  it('asks for fresh bounds before calling an offset beyond the end (knowledge may be stale)', async () => {
    const fresh: boolean[] = [];
    const stale: OffsetLookup = {
      ...rc,
      async bounds(tps, isFresh) {
        fresh.push(isFresh === true);
        const real = await rc.bounds(tps);
        if (!isFresh) for (const [key, b] of real) real.set(key, { ...b, latest: b.latest - 3 });
        return real;
      },
    };
    const { starts } = await resolveAssignment({ topics: ['eqiad.rc'], allowedTopics: ['eqiad.rc'], positions: [{ topic: 'eqiad.rc', partition: 0, offset: 4 }, { topic: 'eqiad.rc', partition: 1, offset: 4 }], now }, stale);
    expect(fresh).toEqual([false, true]);
    expect(starts.map((s) => [s.offset, s.notice])).toEqual([[4, undefined], [4, undefined]]);
  });

  it('understands the original -1 (latest) and -2 (earliest) offsets', async () => {
    const { starts } = await resolveAssignment(
      { topics: ['eqiad.rc'], allowedTopics: ['eqiad.rc'], positions: [{ topic: 'eqiad.rc', partition: 0, offset: -1 }, { topic: 'eqiad.rc', partition: 1, offset: -2 }], now },
      rc,
    );
    expect(starts.map((s) => [s.offset, s.notice])).toEqual([[5, undefined], [3, undefined]]);
  });

  it('reads only the topics the id names, all partitions of a topic named as a string', async () => {
    const { starts } = await resolveAssignment({ topics: allowed, allowedTopics: allowed, positions: ['codfw.rc'], since: 200, now }, rc);
    expect(starts).toEqual([{ topic: 'codfw.rc', partition: 0, offset: 0, requested: { since: 200 } }]);
  });

  it('lets an id name an allowed topic that is not read by default (the other data centre)', async () => {
    const { starts } = await resolveAssignment({ topics: ['eqiad.rc'], allowedTopics: allowed, positions: [], now }, rc);
    expect(starts.map((s) => s.topic)).toEqual(['eqiad.rc', 'eqiad.rc']);
    const resumed = await resolveAssignment({ topics: ['eqiad.rc'], allowedTopics: allowed, positions: ['codfw.rc'], now }, rc);
    expect(resumed.starts.map((s) => s.topic)).toEqual(['codfw.rc']);
  });

  it('refuses a topic outside the requested streams, saying why (the route picks the HTTP answer)', async () => {
    const attempt = resolveAssignment({ topics: ['eqiad.rc'], allowedTopics: ['eqiad.rc'], positions: [{ topic: 'secret.topic', partition: 0, offset: 0 }], now }, rc);
    await expect(attempt).rejects.toBeInstanceOf(PositionError);
    await expect(attempt).rejects.toMatchObject({ kind: 'topic_not_allowed' });
  });

  it('drops partitions the topic does not have, and reports topics missing from Kafka', async () => {
    const result = await resolveAssignment(
      { topics: ['eqiad.rc', 'gone'], allowedTopics: ['eqiad.rc', 'gone'], positions: [{ topic: 'eqiad.rc', partition: 7, offset: 1 }, 'gone'], now },
      rc,
    );
    expect(result.dropped).toEqual([{ position: { topic: 'eqiad.rc', partition: 7, offset: 1 }, notice: 'unknown_partition' }]);
    expect(result.missingTopics).toEqual(['gone']);
    expect(result.starts.every((s) => s.notice === 'partition_not_in_id')).toBe(true);
  });
});
