/**
 * Kafka helpers for integration tests. The broker is started once per run by
 * test/support/global-setup.ts; tests get its address with testBrokers().
 */
import { randomBytes } from 'node:crypto';
import { Producer } from '@platformatic/kafka';
import { inject } from 'vitest';
import { ensureTopics } from '../../src/kafka/admin.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Bootstrap brokers of the test Kafka ("127.0.0.1:19092"); empty when TEST_KAFKA=off. */
    kafkaBrokers: string[];
  }
}

/** The test broker list provided by the global setup. */
export function testBrokers(): string[] {
  const brokers = inject('kafkaBrokers');
  if (!brokers || brokers.length === 0) {
    throw new Error('No test Kafka: the global setup did not start one (TEST_KAFKA=off?)');
  }
  return brokers;
}

/** A topic name no other test (or earlier run) uses: <prefix>-<time>-<random>. */
export function uniqueTopicName(prefix: string): string {
  const safe = prefix.replace(/[^a-zA-Z0-9._-]/g, '_');
  return `${safe}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Creates a uniquely named topic on the test broker and returns its name. */
export async function uniqueTopic(prefix: string, partitions = 1): Promise<string> {
  const name = uniqueTopicName(prefix);
  await ensureTopics(testBrokers(), [{ name, partitions }]);
  return name;
}

export interface TestMessage {
  /** Target partition; default 0. */
  partition?: number;
  key?: string;
  /** JSON-encoded unless a Buffer (sent as is); null produces a record with a null value. */
  value: unknown;
  /** Record timestamp in ms since the epoch (CreateTime); default now. */
  timestamp?: number;
}

export interface ProducedMessage {
  partition: number;
  offset: bigint;
  timestamp: number;
}

/**
 * Produces the messages in order (acks=all, idempotent, one request) and returns, for each message, its
 * partition, offset and timestamp. Offsets come from the produce response's base offset per
 * partition plus the message's position among that partition's messages. All messages for one
 * partition travel in one record batch, so keep a call under ~1 MB per partition (message.max.bytes).
 */
export async function produceJson(brokers: string[], topic: string, messages: TestMessage[]): Promise<ProducedMessage[]> {
  if (messages.length === 0) return [];
  const producer = new Producer<Buffer, Buffer | null, Buffer, Buffer>({
    clientId: 'eventstreams-test-producer',
    bootstrapBrokers: brokers,
    acks: -1,
    // The client re-sends a whole multi-partition request when one partition answers with stale
    // metadata; idempotence makes the broker drop the copies of the partitions already written.
    idempotent: true,
    retries: 3,
    retryDelay: 250,
  });
  const now = Date.now();
  const positions = new Map<number, number>();
  const planned = messages.map((m) => {
    const partition = m.partition ?? 0;
    const index = positions.get(partition) ?? 0;
    positions.set(partition, index + 1);
    return { partition, index, timestamp: m.timestamp ?? now };
  });
  try {
    const result = await producer.send({
      messages: messages.map((m, i) => {
        const plan = planned[i]!;
        return {
          topic,
          partition: plan.partition,
          timestamp: BigInt(plan.timestamp),
          ...(m.key !== undefined ? { key: Buffer.from(m.key) } : {}),
          value: toValue(m.value),
        };
      }),
    });
    const base = new Map<number, bigint>();
    for (const o of result.offsets ?? []) {
      if (o.topic === topic) base.set(o.partition, o.offset);
    }
    return planned.map((p) => {
      const first = base.get(p.partition);
      if (first === undefined) throw new Error(`produceJson: no offset for ${topic}/${p.partition} in the produce response`);
      return { partition: p.partition, offset: first + BigInt(p.index), timestamp: p.timestamp };
    });
  } finally {
    await producer.close();
  }
}

function toValue(value: unknown): Buffer | null {
  if (Buffer.isBuffer(value)) return value;
  // null: a record with a null value (a tombstone).
  if (value === null) return null;
  return Buffer.from(JSON.stringify(value));
}

export interface ProducedSeq {
  seq: number;
  partition: number;
  offset: number;
}

/**
 * Produces `value(seq)` a few at a time (seq 0, 1, ...; seq % partitions is the partition) until
 * stopped, so that events keep arriving while streams end and reconnect; `stop` resolves with
 * everything produced, in seq order.
 */
export function keepProducing(topic: string, partitions: number, value: (seq: number) => unknown, pauseMs = 100): { stop(): Promise<ProducedSeq[]> } {
  const produced: ProducedSeq[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const seqs = Array.from({ length: 4 }, (_, i) => produced.length + i);
      const sent = await produceJson(testBrokers(), topic, seqs.map((seq) => ({ value: value(seq), partition: seq % partitions })));
      sent.forEach((p, i) => produced.push({ seq: seqs[i]!, partition: p.partition, offset: Number(p.offset) }));
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return produced;
    },
  };
}
