import { Consumer, ListOffsetTimestamps, findErrorBy } from '@platformatic/kafka';
import type { KafkaConfig } from '../config/types.ts';
import { securityOptions } from './connection-options.ts';
import { fetchOnce, type Fetcher } from './fetch.ts';
import { unobserved, type KafkaObserver } from './observer.ts';
import { partitionKey, type TopicPartition } from '../protocol/position.ts';
import type { LogBounds } from './records.ts';
import type { OffsetLookup } from './start-positions.ts';

/** A client that never joins a group: the id is required by the constructor but never sent. */
const UNUSED_GROUP_ID = 'eventstreams-groupless';

function createGrouplessConsumer(config: KafkaConfig): Consumer {
  return new Consumer({
    clientId: config.clientId,
    bootstrapBrokers: config.brokers,
    groupId: UNUSED_GROUP_ID,
    timeout: config.requestTimeoutMs,
    connectTimeout: config.requestTimeoutMs,
    retries: 2,
    retryDelay: 250,
    maxWaitTime: config.fetchMaxWaitMs,
    minBytes: 1,
    ...securityOptions(config),
  });
}

/** What the readers need of Kafka: look-ups, and fetch sessions of their own. */
export interface KafkaClient extends OffsetLookup {
  /** `fresh` asks Kafka itself instead of cached metadata, e.g. to tell a deleted topic. */
  partitionCounts(topics: readonly string[], fresh?: boolean): Promise<Map<string, number>>;
  /** A fetch session for one reader, closed by it; `maxBytesPerPartition` overrides the configured fetch size. */
  fetcher(maxBytesPerPartition?: number): Fetcher;
}

/**
 * The process's one shared Kafka client for metadata and offset look-ups. Readers get their own
 * consumers (`fetcher`) because a consumer keeps one incremental fetch session per broker.
 */
export class KafkaGateway implements KafkaClient {
  readonly config: KafkaConfig;
  /** Told about every request of this gateway and of the readers that fetch through it. */
  readonly observer: KafkaObserver;
  readonly #consumer: Consumer;

  constructor(config: KafkaConfig, observer: KafkaObserver = unobserved) {
    this.config = config;
    this.observer = observer;
    this.#consumer = createGrouplessConsumer(config);
  }

  /** `fresh` asks Kafka itself instead of the client's metadata cache (up to 5 s old), e.g. to tell a deleted topic. */
  async partitionCounts(topics: readonly string[], fresh = false): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    if (topics.length === 0) return counts;
    try {
      const metadata = await this.observer.timed('metadata', this.#consumer.metadata({ topics: [...topics], forceUpdate: fresh }));
      for (const topic of topics) {
        const info = metadata.topics.get(topic);
        if (info !== undefined) counts.set(topic, info.partitionsCount);
      }
      return counts;
    } catch (error) {
      if (!isUnknownTopic(error)) throw error;
      if (topics.length === 1) return counts;
    }
    // One of the topics does not exist: ask for each so the others can still be served.
    for (const topic of topics) {
      for (const [name, count] of await this.partitionCounts([topic], fresh)) counts.set(name, count);
    }
    return counts;
  }

  async bounds(partitions: readonly TopicPartition[]): Promise<Map<string, LogBounds>> {
    const [earliest, latest] = await Promise.all([
      this.#offsets(partitions, ListOffsetTimestamps.EARLIEST),
      this.#offsets(partitions, ListOffsetTimestamps.LATEST),
    ]);
    const result = new Map<string, LogBounds>();
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      const e = earliest.get(key);
      const l = latest.get(key);
      if (e !== undefined && l !== undefined) result.set(key, { earliest: e, latest: l });
    }
    return result;
  }

  async offsetsForTimestamp(partitions: readonly TopicPartition[], timestamp: number): Promise<Map<string, number | undefined>> {
    const found = await this.#offsets(partitions, BigInt(timestamp));
    const result = new Map<string, number | undefined>();
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      const offset = found.get(key);
      result.set(key, offset === undefined || offset < 0 ? undefined : offset);
    }
    return result;
  }

  async maxTimestamps(partitions: readonly TopicPartition[]): Promise<Map<string, { offset: number; timestamp: number }>> {
    const byTopic: Record<string, number[]> = {};
    for (const { topic, partition } of partitions) (byTopic[topic] ??= []).push(partition);
    const topics = Object.keys(byTopic);
    const result = new Map<string, { offset: number; timestamp: number }>();
    if (topics.length === 0) return result;
    const found = await this.observer.timed(
      'list_offsets',
      this.#consumer.listOffsetsWithTimestamps({ topics, partitions: byTopic, timestamp: ListOffsetTimestamps.MAX }),
    );
    for (const [topic, byPartition] of found) {
      for (const [partition, { offset, timestamp }] of byPartition) {
        // An empty partition answers offset -1.
        if (offset >= 0n && timestamp >= 0n) result.set(partitionKey(topic, partition), { offset: Number(offset), timestamp: Number(timestamp) });
      }
    }
    return result;
  }

  fetcher(maxBytesPerPartition?: number): Fetcher {
    const consumer = createGrouplessConsumer(this.config);
    const config = maxBytesPerPartition === undefined ? this.config : { ...this.config, fetchMaxBytesPerPartition: maxBytesPerPartition };
    return {
      track: (...topics) => {
        consumer.topics.trackAll(...topics);
      },
      untrack: (...topics) => {
        consumer.topics.untrackAll(...topics);
      },
      fetch: (positions) => fetchOnce(consumer, config, positions, this.observer),
      clearMetadata: () => consumer.clearMetadata(),
      close: () => consumer.close(true),
    };
  }

  /** Whether the cluster answers a metadata request (readiness). */
  async ping(): Promise<boolean> {
    try {
      await this.observer.timed('metadata', this.#consumer.metadata({ topics: [], forceUpdate: true }));
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.#consumer.close(true);
  }

  async #offsets(partitions: readonly TopicPartition[], timestamp: bigint): Promise<Map<string, number>> {
    const byTopic: Record<string, number[]> = {};
    for (const { topic, partition } of partitions) (byTopic[topic] ??= []).push(partition);
    const topics = Object.keys(byTopic);
    const result = new Map<string, number>();
    if (topics.length === 0) return result;
    const offsets = await this.observer.timed('list_offsets', this.#consumer.listOffsets({ topics, partitions: byTopic, timestamp }));
    for (const [topic, list] of offsets) {
      for (const partition of byTopic[topic] ?? []) {
        const offset = list[partition];
        if (offset !== undefined) result.set(partitionKey(topic, partition), Number(offset));
      }
    }
    return result;
  }
}

export function isUnknownTopic(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    findErrorBy(error, 'apiId', 'UNKNOWN_TOPIC_OR_PARTITION') !== null ||
    findErrorBy(error, 'apiId', 'UNKNOWN_TOPIC_ID') !== null ||
    // A Metadata request's UNKNOWN_TOPIC_OR_PARTITION reaches us as the client's own error, without the broker's code.
    UNKNOWN_TOPIC_MESSAGE.test(findErrorBy(error, 'code', 'PLT_KFK_USER')?.message ?? '')
  );
}

const UNKNOWN_TOPIC_MESSAGE = /^Unknown topic /;
