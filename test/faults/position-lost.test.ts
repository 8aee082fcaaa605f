/**
 * Positions lost while streaming: a slow client replaying history whose position Kafka deletes
 * (retention) gets the loss notice and goes on from the earliest retained event; a topic deleted
 * under a live stream ends it with an `event: error` saying so.
 */
import { Admin } from '@platformatic/kafka';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteTopics, ensureTopics } from '../../src/kafka/admin.ts';
import { KafkaGateway } from '../../src/kafka/gateway.ts';
import type { RunningService } from '../../src/service.ts';
import { rcEvent } from '../support/events.ts';
import { recordFigures } from '../support/fault-figures.ts';
import { produceJson } from '../support/kafka.ts';
import { metric } from '../support/metrics.ts';
import { startOwnBroker, type OwnBroker } from '../support/own-broker.ts';
import { startTestService } from '../support/service.ts';
import { openRaw, type RawStream } from '../support/sse.ts';

const RETAINED = 'eqiad.position-lost';
const DELETED = 'eqiad.topic-deleted';
const EVENTS = 5000;
const BATCH = 120;
const PAD = 'x'.repeat(5000);

let broker: OwnBroker;
let service: RunningService;

beforeAll(async () => {
  broker = await startOwnBroker('position-lost');
  await ensureTopics(broker.brokers, [
    { name: RETAINED, partitions: 1 },
    { name: DELETED, partitions: 1 },
  ]);
  for (let from = 0; from < EVENTS; from += BATCH) {
    const count = Math.min(BATCH, EVENTS - from);
    await produceJson(broker.brokers, RETAINED, Array.from({ length: count }, (_, i) => ({ value: rcEvent(from + i, { seq: from + i, pad: PAD }) })));
  }
  // Small fetches, so the catch-up reader is paced by the client in small steps.
  service = await startTestService(
    { retained: { topics: [RETAINED] }, deleted: { topics: [DELETED] } },
    { kafka: { brokers: broker.brokers, request_timeout_ms: 2000, fetch_max_bytes_per_partition: 131072 }, heartbeat_interval: 1000 },
  );
});

afterAll(async () => {
  await service?.stop();
  await broker?.remove();
});

/** The catch-up reader's count of messages read, once it has stopped moving (its client does not read). */
async function stalledCatchUp(): Promise<number> {
  let last = -1;
  for (;;) {
    const now = await metric(service.url, 'eventstreams_kafka_messages_read_total', { kind: 'catch_up' });
    if (now === last && now > 0) return now;
    last = now;
    await sleep(1000);
  }
}

/**
 * Polls (rather than checking at every chunk) whether the event at `offset` arrived: the text is
 * tens of MB, and searching its tail flattens the whole string.
 */
async function endsWithOffset(client: RawStream, offset: number): Promise<void> {
  await expect.poll(() => client.text().slice(-20_000).includes(`"offset":${offset}}`), { timeout: 60_000, interval: 250 }).toBe(true);
}

describe('position lost while streaming', () => {
  it('a slow client whose position was deleted gets the notice and continues from the earliest retained event', async () => {
    const client = await openRaw(`${service.url}/v2/stream/retained`, { 'last-event-id': JSON.stringify([{ topic: RETAINED, partition: 0, offset: 0 }]) });
    try {
      client.pause();
      const read = await stalledCatchUp();
      // What the service read for the client is queued in sockets (plus a prefetched batch): Kafka deletes well past it.
      const earliest = read + 1500;
      if (earliest >= EVENTS) throw new Error(`the client's buffers held ${read} of ${EVENTS} events: produce more for this test`);
      const admin = new Admin({ clientId: 'fault-test-admin', bootstrapBrokers: broker.brokers });
      try {
        await admin.deleteRecords({ topics: [{ name: RETAINED, partitions: [{ partition: 0, offset: BigInt(earliest) }] }] });
      } finally {
        await admin.close();
      }
      const resumed = Date.now();
      client.resume();
      await endsWithOffset(client, EVENTS - 1);
      const caughtUp = Date.now() - resumed;
      await produceJson(broker.brokers, RETAINED, Array.from({ length: 5 }, (_, i) => ({ value: rcEvent(EVENTS + i, { seq: EVENTS + i }) })));
      await endsWithOffset(client, EVENTS + 4);
      await sleep(300);

      const blocks = client.blocks().filter((b) => b.event !== undefined);
      const noticeAt = blocks.findIndex((b) => b.event === 'notice');
      expect(noticeAt).toBeGreaterThan(0);
      const offsets = (list: typeof blocks) => list.map((b) => (JSON.parse(b.data ?? '{}') as { meta: { offset: number } }).meta.offset);
      const before = offsets(blocks.slice(0, noticeAt));
      const after = offsets(blocks.slice(noticeAt + 1));
      // Before the loss: every event from the start, in order; after: every retained one from the earliest, then live ones.
      expect(before).toEqual(Array.from({ length: before.length }, (_, i) => i));
      expect(before.length).toBeLessThan(earliest);
      expect(after).toEqual(Array.from({ length: EVENTS + 5 - earliest }, (_, i) => earliest + i));
      const notice = JSON.parse(blocks[noticeAt]?.data ?? '{}') as { positions: unknown[] };
      expect(notice.positions).toEqual([expect.objectContaining({ topic: RETAINED, partition: 0, offset: earliest, reason: 'offset_before_earliest' })]);
      // The notice's id already points past the loss: a reconnect from it resumes at `earliest`, not before.
      expect(JSON.parse(blocks[noticeAt]?.id ?? '[]')).toEqual([expect.objectContaining({ topic: RETAINED, partition: 0, offset: earliest })]);
      expect(client.blocks().filter((b) => b.event === 'error')).toEqual([]);

      recordFigures('position-lost', 'Slow client whose position falls out of retention', {
        'events in the partition': EVENTS,
        'events read from Kafka for the paused client when its reader stalled': read,
        'events the client got before the loss (all in order)': before.length,
        'earliest retained offset after deleteRecords': earliest,
        'events after the notice (earliest to live, all in order)': after.length,
        'caught up to the end, ms after the client read again': caughtUp,
      });
    } finally {
      client.close();
    }
  });

  it('a topic deleted under a live stream ends it with event: error TopicDeleted; streams of other topics go on', async () => {
    const client = await openRaw(`${service.url}/v2/stream/deleted`);
    const other = await openRaw(`${service.url}/v2/stream/retained`);
    try {
      await client.until((s) => s.text().startsWith(':ok'));
      await other.until((s) => s.text().startsWith(':ok'));
      await produceJson(broker.brokers, DELETED, [{ value: rcEvent(0, { seq: 0 }) }, { value: rcEvent(1, { seq: 1 }) }]);
      await client.until((s) => s.messages().length >= 2);
      const deleting = Date.now();
      await deleteTopics(broker.brokers, [DELETED]);
      const deletedAt = Date.now();
      await client.until((s) => s.blocks().some((b) => b.event === 'error'), 30_000);
      await client.ended;
      const endedMs = Math.max(0, Date.now() - deletedAt);
      const last = client.blocks().at(-1);
      expect(last?.event).toBe('error');
      expect(JSON.parse(last?.data ?? '{}')).toMatchObject({ name: 'TopicDeleted', message: expect.stringContaining(DELETED) });
      // With the id of the last event sent, as every error block.
      expect(last?.id).toBe(client.blocks().filter((b) => b.event === 'message').at(-1)?.id);
      expect(client.messages().map((m) => m.data.seq)).toEqual([0, 1]);
      await produceJson(broker.brokers, RETAINED, [{ value: rcEvent(7, { seq: 'after the deletion' }) }]);
      await other.until((s) => s.messages().length >= 1);
      expect(other.messages().map((m) => m.data.seq)).toEqual(['after the deletion']);
      expect(other.blocks().filter((b) => b.event === 'error')).toEqual([]);
      recordFigures('topic-deleted', 'Topic deleted under a live stream', {
        'deleteTopics until the broker no longer lists it, ms': deletedAt - deleting,
        'stream ended with event: error TopicDeleted, ms after that': endedMs,
      });
    } finally {
      client.close();
      other.close();
    }
  });

  it('a topic deleted after its readers stopped does not stall the reading of others', async () => {
    // Feeds stop as soon as nobody follows them: the deleted topic's reader is gone before the deletion.
    const quick = await startTestService(
      { gone: { topics: ['eqiad.deleted-idle'] }, kept: { topics: ['eqiad.kept-live'] } },
      { kafka: { brokers: broker.brokers, request_timeout_ms: 2000 }, heartbeat_interval: 1000, fanout: { idle_reader_ttl_ms: 100 } },
    );
    await ensureTopics(broker.brokers, [
      { name: 'eqiad.deleted-idle', partitions: 1 },
      { name: 'eqiad.kept-live', partitions: 1 },
    ]);
    const kept = await openRaw(`${quick.url}/v2/stream/kept`);
    try {
      const gone = await openRaw(`${quick.url}/v2/stream/gone`);
      await gone.until((s) => s.text().startsWith(':ok'));
      gone.close();
      const deadline = Date.now() + 30_000;
      while ((await metric(quick.url, 'eventstreams_shared_readers')) !== 1) {
        if (Date.now() > deadline) throw new Error('the idle reader did not stop');
        await sleep(100);
      }
      await deleteTopics(broker.brokers, ['eqiad.deleted-idle']);
      await produceJson(broker.brokers, 'eqiad.kept-live', [{ value: rcEvent(1, { seq: 'after the deletion' }) }]);
      await kept.until((s) => s.messages().length >= 1, 30_000);
      expect(kept.messages().map((m) => m.data.seq)).toEqual(['after the deletion']);
      // A stream opened after the deletion is read too.
      const late = await openRaw(`${quick.url}/v2/stream/kept`);
      try {
        await late.until((s) => s.text().startsWith(':ok'));
        await produceJson(broker.brokers, 'eqiad.kept-live', [{ value: rcEvent(2, { seq: 'later still' }) }]);
        await late.until((s) => s.messages().length >= 1, 30_000);
        expect(late.messages().map((m) => m.data.seq)).toEqual(['later still']);
      } finally {
        late.close();
      }
    } finally {
      kept.close();
      await quick.stop();
    }
  });

  it('fresh partition counts, which decide which streams end, see a deletion at once', async () => {
    const topic = 'eqiad.deleted-again';
    await ensureTopics(broker.brokers, [{ name: topic, partitions: 1 }]);
    const gateway = new KafkaGateway({ brokers: broker.brokers, clientId: 'fault-test', fetchMaxWaitMs: 100, fetchMaxBytesPerPartition: 1 << 20, requestTimeoutMs: 5000 });
    try {
      // Now in the client's metadata cache, where it stays listed for seconds after the deletion.
      expect(await gateway.partitionCounts([topic])).toEqual(new Map([[topic, 1]]));
      await deleteTopics(broker.brokers, [topic]);
      expect(await gateway.partitionCounts([topic], true)).toEqual(new Map());
    } finally {
      await gateway.close();
    }
  });
});
