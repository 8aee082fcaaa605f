import { ProtocolError } from '@platformatic/kafka';
import type { Fetcher, FetchPosition, FetchResult } from '../../src/kafka/fetch.ts';
import type { KafkaClient } from '../../src/kafka/gateway.ts';
import type { KafkaMessage, LogBounds } from '../../src/kafka/records.ts';
import { partitionKey, type TopicPartition } from '../../src/protocol/position.ts';

interface PartitionLog {
  topic: string;
  /** The first offset retention kept. */
  earliest: number;
  /** Every message ever appended: the message at offset n is `messages[n]`. */
  messages: KafkaMessage[];
}

/**
 * Kafka as the fan-out's readers see it, in memory: a partition is a list of messages whose start
 * retention can move, and a fetch answers like a broker's (the errors included), returning at most
 * `batch` messages per partition and waiting up to `waitMs` for new ones when it has none.
 */
export class MemoryKafka implements KafkaClient {
  /** Fetch sessions opened: one per reader. */
  fetchers = 0;
  readonly #logs = new Map<string, PartitionLog>();
  readonly #wakers = new Set<() => void>();
  readonly #batch: number;
  readonly #waitMs: number;

  constructor({ batch = 3, waitMs = 20 } = {}) {
    this.#batch = batch;
    this.#waitMs = waitMs;
  }

  /** Appends `count` events (`{"n":offset}`, timestamp 1000 + offset), creating the partition. */
  append(topic: string, partition: number, count: number): void {
    const key = partitionKey(topic, partition);
    const log = this.#logs.get(key) ?? { topic, earliest: 0, messages: [] };
    this.#logs.set(key, log);
    for (let i = 0; i < count; i++) {
      const offset = log.messages.length;
      log.messages.push({ topic, partition, offset, timestamp: 1000 + offset, key: null, value: Buffer.from(`{"n":${offset}}`) });
    }
    this.#wake();
  }

  /** Retention deleted everything before `offset`. */
  retain(topic: string, partition: number, offset: number): void {
    const log = this.#logs.get(partitionKey(topic, partition));
    if (log !== undefined) log.earliest = offset;
  }

  deleteTopic(topic: string): void {
    for (const [key, log] of this.#logs) if (log.topic === topic) this.#logs.delete(key);
    this.#wake();
  }

  async partitionCounts(topics: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const topic of topics) {
      let count = 0;
      while (this.#logs.has(partitionKey(topic, count))) count++;
      if (count > 0) counts.set(topic, count);
    }
    return counts;
  }

  async bounds(partitions: readonly TopicPartition[]): Promise<Map<string, LogBounds>> {
    const result = new Map<string, LogBounds>();
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      const log = this.#logs.get(key);
      if (log !== undefined) result.set(key, { earliest: log.earliest, latest: log.messages.length });
    }
    return result;
  }

  async offsetsForTimestamp(partitions: readonly TopicPartition[], timestamp: number): Promise<Map<string, number | undefined>> {
    const result = new Map<string, number | undefined>();
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      const log = this.#logs.get(key);
      result.set(key, log?.messages.find((m) => m.offset >= log.earliest && m.timestamp >= timestamp)?.offset);
    }
    return result;
  }

  async maxTimestamps(partitions: readonly TopicPartition[]): Promise<Map<string, { offset: number; timestamp: number }>> {
    const result = new Map<string, { offset: number; timestamp: number }>();
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      const log = this.#logs.get(key);
      // Kafka's MAX_TIMESTAMP: the first event with the largest timestamp.
      for (const m of log?.messages ?? []) {
        if (m.offset >= (log?.earliest ?? 0) && m.timestamp > (result.get(key)?.timestamp ?? -1)) result.set(key, { offset: m.offset, timestamp: m.timestamp });
      }
    }
    return result;
  }

  fetcher(): Fetcher {
    this.fetchers++;
    let closed = false;
    return {
      track: () => undefined,
      untrack: () => undefined,
      fetch: async (positions) => {
        if (closed) throw new Error('fetcher closed');
        const first = this.#read(positions);
        if (first.messages.length > 0) return first;
        // A long poll: answer as soon as something arrives, or empty after the wait.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, this.#waitMs);
          const wakers = this.#wakers;
          function done(): void {
            clearTimeout(timer);
            wakers.delete(done);
            resolve();
          }
          wakers.add(done);
        });
        if (closed) throw new Error('fetcher closed');
        return this.#read(positions);
      },
      clearMetadata: () => undefined,
      close: async () => {
        closed = true;
        this.#wake();
      },
    };
  }

  #read(positions: readonly FetchPosition[]): FetchResult {
    const result: FetchResult = { messages: [], next: new Map(), bounds: new Map() };
    for (const { topic, partition, offset } of positions) {
      const key = partitionKey(topic, partition);
      const log = this.#logs.get(key);
      if (log === undefined) throw new ProtocolError('UNKNOWN_TOPIC_OR_PARTITION');
      const latest = log.messages.length;
      if (offset < log.earliest || offset > latest) throw new ProtocolError('OFFSET_OUT_OF_RANGE');
      result.bounds.set(key, { earliest: log.earliest, latest });
      const batch = log.messages.slice(offset, offset + this.#batch);
      if (batch.length === 0) continue;
      result.messages.push(...batch);
      result.next.set(key, offset + batch.length);
    }
    return result;
  }

  #wake(): void {
    for (const wake of [...this.#wakers]) wake();
  }
}
