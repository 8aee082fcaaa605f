import type { Consumer } from '@platformatic/kafka';
import type { KafkaConfig } from '../config/types.ts';
import { partitionKey } from '../protocol/position.ts';
import type { KafkaObserver } from './observer.ts';
import { messagesFromFetch, type FetchRequestTopic, type KafkaMessage, type LogBounds } from './records.ts';

/** A partition to fetch and the offset to fetch it from. */
export interface FetchPosition {
  topic: string;
  partition: number;
  offset: number;
}

export interface FetchResult {
  /** Messages in per-partition order, at or after the requested offsets. */
  messages: KafkaMessage[];
  /** Per `partitionKey`: the offset to fetch next (past control batches too). */
  next: Map<string, number>;
  /** Per `partitionKey`: the partition's log start offset and high watermark at this fetch. */
  bounds: Map<string, LogBounds>;
}

/**
 * One reader's own fetch session with Kafka: a consumer keeps one incremental fetch session per
 * broker, so readers do not share one (`KafkaClient.fetcher`).
 */
export interface Fetcher {
  /** Keeps these topics' metadata (counted: once per `track`, until as many `untrack`s). */
  track(...topics: string[]): void;
  /**
   * Stops keeping a topic's metadata. A deleted topic still tracked fails every later fetch of the
   * reader (its metadata request names it), so readers untrack what they no longer read.
   */
  untrack(...topics: string[]): void;
  fetch(positions: readonly FetchPosition[]): Promise<FetchResult>;
  /** Forgets cached metadata: a failed fetch may mean a partition leader moved. */
  clearMetadata(): void;
  close(): Promise<void>;
}

/**
 * One group-less fetch of the given partitions: one request per partition leader, long-polling up
 * to `fetchMaxWaitMs` when there is nothing new.
 */
export async function fetchOnce(consumer: Consumer, config: KafkaConfig, positions: readonly FetchPosition[], observer: KafkaObserver): Promise<FetchResult> {
  const topics = [...new Set(positions.map((p) => p.topic))];
  const metadata = await observer.timed('metadata', consumer.metadata({ topics }));
  const byLeader = new Map<number, Map<string, FetchRequestTopic>>();
  const names = new Map<string, string>();
  const requested = new Map<string, number>();
  for (const position of positions) {
    const topic = metadata.topics.get(position.topic);
    const leader = topic?.partitions[position.partition]?.leader;
    if (topic === undefined || leader === undefined) continue;
    names.set(topic.id, position.topic);
    requested.set(partitionKey(position.topic, position.partition), position.offset);
    const perTopic = byLeader.get(leader) ?? new Map<string, FetchRequestTopic>();
    byLeader.set(leader, perTopic);
    const request = perTopic.get(topic.id) ?? { topicId: topic.id, partitions: [] };
    perTopic.set(topic.id, request);
    request.partitions.push({
      partition: position.partition,
      fetchOffset: BigInt(position.offset),
      currentLeaderEpoch: -1,
      lastFetchedEpoch: -1,
      partitionMaxBytes: config.fetchMaxBytesPerPartition,
    });
  }
  const responses = await Promise.all(
    [...byLeader].map(([node, perTopic]) =>
      observer.timed('fetch', consumer.fetch({ node, topics: [...perTopic.values()], maxWaitTime: config.fetchMaxWaitMs, minBytes: 1 })),
    ),
  );
  const result: FetchResult = { messages: [], next: new Map(), bounds: new Map() };
  for (const response of responses) {
    const parsed = messagesFromFetch(response, names, requested, partitionKey);
    for (const [key, offset] of parsed.next) result.next.set(key, offset);
    for (const [key, bound] of parsed.bounds) result.bounds.set(key, bound);
    for (const message of parsed.messages) result.messages.push(message);
  }
  countByTopic(result.messages, observer);
  return result;
}

function countByTopic(messages: readonly KafkaMessage[], observer: KafkaObserver): void {
  let topic: string | undefined;
  let run = 0;
  // Messages come grouped by partition, so runs of one topic are long: one count per run.
  for (const message of messages) {
    if (message.topic !== topic) {
      if (topic !== undefined) observer.countRead(topic, run);
      topic = message.topic;
      run = 0;
    }
    run++;
  }
  if (topic !== undefined) observer.countRead(topic, run);
}
