/**
 * Messages in Kafka that are not servable events (not JSON, not an object, over `max_event_bytes`,
 * a null or empty value) are skipped, each with a metric and a log line, and the stream goes on
 * with the next valid event.
 */
import pino from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTopics } from '../../src/kafka/admin.ts';
import type { RunningService } from '../../src/service.ts';
import { rcEvent } from '../support/events.ts';
import { recordFigures } from '../support/fault-figures.ts';
import { produceJson, type ProducedMessage, type TestMessage } from '../support/kafka.ts';
import { metric } from '../support/metrics.ts';
import { startOwnBroker, type OwnBroker } from '../support/own-broker.ts';
import { startTestService } from '../support/service.ts';
import { openRaw } from '../support/sse.ts';

const TOPIC = 'eqiad.bad-data';
const MAX_EVENT_BYTES = 65_536;
/** Larger than `max_event_bytes` and than a fetch's per-partition byte budget (1 MiB). */
const HUGE = 1_500_000;

let broker: OwnBroker;
let service: RunningService;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  broker = await startOwnBroker('bad-data', { 'message.max.bytes': 8_388_608 });
  await ensureTopics(broker.brokers, [{ name: TOPIC, partitions: 1 }]);
  const logger = pino({ level: 'warn' }, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) });
  service = await startTestService({ bad: { topics: [TOPIC] } }, { kafka: { brokers: broker.brokers }, max_event_bytes: MAX_EVENT_BYTES }, logger);
});

afterAll(async () => {
  await service?.stop();
  await broker?.remove();
});

/** Each bad message and the reason it must be skipped for, between valid events. */
const BAD: { what: string; value: unknown; reason: string }[] = [
  { what: 'not JSON', value: Buffer.from('{"meta": {"domain": "en.wikipedia.org"'), reason: 'not_json' },
  { what: 'a JSON array', value: [rcEvent(0)], reason: 'not_object' },
  { what: 'a JSON string', value: 'an event', reason: 'not_object' },
  { what: 'JSON null', value: Buffer.from('null'), reason: 'not_object' },
  { what: `an object of ${HUGE} bytes`, value: rcEvent(0, { pad: 'x'.repeat(HUGE) }), reason: 'too_large' },
  { what: 'a null value (tombstone)', value: null, reason: 'null_value' },
  { what: 'an empty value', value: Buffer.alloc(0), reason: 'null_value' },
];

describe('bad data in Kafka', () => {
  it('skips each bad message with a metric and a log line, and streams the valid events around it', async () => {
    const client = await openRaw(`${service.url}/v2/stream/bad`);
    try {
      await client.until((s) => s.text().startsWith(':ok'));
      const messages: TestMessage[] = [{ value: rcEvent(0, { seq: 0 }) }];
      BAD.forEach((bad, i) => messages.push({ value: bad.value }, { value: rcEvent(i + 1, { seq: i + 1 }) }));
      // One message per produce: a 1.5 MB record must not share a batch with the others.
      const produced: ProducedMessage[] = [];
      for (const message of messages) produced.push(...(await produceJson(broker.brokers, TOPIC, [message])));
      await client.until((s) => s.messages().length >= BAD.length + 1, 30_000);
      await sleep(500);

      expect(client.messages().map((m) => m.data.seq)).toEqual(Array.from({ length: BAD.length + 1 }, (_, i) => i));
      expect(client.blocks().filter((b) => b.event === 'error')).toEqual([]);
      const skips = logLines.filter((l) => l.msg === 'skipped a Kafka message that is not a servable event');
      expect(skips.map((l) => ({ topic: l.topic, offset: l.offset, reason: l.reason }))).toEqual(
        BAD.map((bad, i) => ({ topic: TOPIC, offset: Number(produced[2 * i + 1]?.offset), reason: bad.reason })),
      );
      const counts: Record<string, number> = {};
      for (const reason of new Set(BAD.map((b) => b.reason))) {
        counts[reason] = await metric(service.url, 'eventstreams_skipped_messages_total', { reason });
        expect(counts[reason], reason).toBe(BAD.filter((b) => b.reason === reason).length);
      }
      recordFigures('bad-data', 'Bad data in Kafka', {
        'bad messages (between valid events)': BAD.map((b) => b.what).join('; '),
        'max_event_bytes': MAX_EVENT_BYTES,
        'valid events delivered, in order': client.messages().length,
        'skipped_messages_total by reason': Object.entries(counts).map(([r, n]) => `${r} ${n}`).join(', '),
        'log lines (one per bad message)': skips.length,
      });
    } finally {
      client.close();
    }
  });
});
