import { findErrorBy } from '@platformatic/kafka';
import type { Consumer } from '@platformatic/kafka';
import type { KafkaConfig } from '../config/types.ts';
import { partitionKey, type StartPosition } from '../protocol/position.ts';
import { createGrouplessConsumer, isUnknownTopic, type KafkaGateway } from './gateway.ts';
import { messagesFromFetch, type FetchRequestTopic, type KafkaMessage } from './records.ts';

export interface ReaderEvents {
  /** Messages in per-partition order. The reader waits for the returned promise (backpressure). */
  messages(batch: KafkaMessage[]): Promise<void> | void;
  /** A partition's position fell out of the log (retention, truncation) and was moved. */
  positionLost(start: StartPosition): void;
  /** Kafka trouble that the reader rides out by retrying; reading goes on. */
  retrying(error: Error, attempt: number): void;
  /** Reading cannot go on (e.g. the topic was deleted). */
  fatal(error: Error): void;
}

const MAX_BACKOFF_MS = 5000;

/**
 * Reads a fixed set of partitions from explicit offsets, for one connection, without a consumer
 * group. Long-polls the broker so an idle stream costs one request per `fetchMaxWaitMs`.
 */
export class ConnectionReader {
  readonly #config: KafkaConfig;
  readonly #gateway: KafkaGateway;
  readonly #events: ReaderEvents;
  readonly #next = new Map<string, { topic: string; partition: number; offset: number }>();
  readonly #consumer: Consumer;
  #closed = false;
  #done: Promise<void> | undefined;

  constructor(gateway: KafkaGateway, starts: readonly StartPosition[], events: ReaderEvents) {
    this.#gateway = gateway;
    this.#config = gateway.config;
    this.#events = events;
    for (const s of starts) this.#next.set(partitionKey(s.topic, s.partition), { topic: s.topic, partition: s.partition, offset: s.offset });
    this.#consumer = createGrouplessConsumer(this.#config);
    this.#consumer.topics.trackAll(...new Set(starts.map((s) => s.topic)));
  }

  start(): void {
    this.#done ??= this.#run();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#consumer.close(true).catch(() => undefined);
    await this.#done;
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#closed && this.#next.size > 0) {
      try {
        const messages = await this.#fetchOnce();
        attempt = 0;
        if (this.#closed) return;
        if (messages.length > 0) await this.#events.messages(messages);
      } catch (error) {
        if (this.#closed) return;
        const err = error instanceof Error ? error : new Error(String(error));
        if (isUnknownTopic(err)) {
          this.#events.fatal(new Error('a topic of this stream no longer exists in Kafka'));
          return;
        }
        if (findErrorBy(err, 'apiId', 'OFFSET_OUT_OF_RANGE') !== null) {
          await this.#recoverOutOfRange().catch(() => undefined);
          continue;
        }
        attempt++;
        this.#events.retrying(err, attempt);
        this.#consumer.clearMetadata();
        await sleep(Math.min(MAX_BACKOFF_MS, 100 * 2 ** attempt));
      }
    }
  }

  async #fetchOnce(): Promise<KafkaMessage[]> {
    const topics = [...new Set([...this.#next.values()].map((p) => p.topic))];
    const metadata = await this.#consumer.metadata({ topics });
    const byLeader = new Map<number, Map<string, FetchRequestTopic>>();
    const names = new Map<string, string>();
    const requested = new Map<string, number>();
    for (const [key, position] of this.#next) {
      const topic = metadata.topics.get(position.topic);
      const leader = topic?.partitions[position.partition]?.leader;
      if (topic === undefined || leader === undefined) continue;
      names.set(topic.id, position.topic);
      requested.set(key, position.offset);
      const perTopic = byLeader.get(leader) ?? new Map<string, FetchRequestTopic>();
      byLeader.set(leader, perTopic);
      const request = perTopic.get(topic.id) ?? { topicId: topic.id, partitions: [] };
      perTopic.set(topic.id, request);
      request.partitions.push({
        partition: position.partition,
        fetchOffset: BigInt(position.offset),
        currentLeaderEpoch: -1,
        lastFetchedEpoch: -1,
        partitionMaxBytes: this.#config.fetchMaxBytesPerPartition,
      });
    }
    const responses = await Promise.all(
      [...byLeader].map(([node, perTopic]) =>
        this.#consumer.fetch({ node, topics: [...perTopic.values()], maxWaitTime: this.#config.fetchMaxWaitMs, minBytes: 1 }),
      ),
    );
    const messages: KafkaMessage[] = [];
    for (const response of responses) {
      const result = messagesFromFetch(response, names, requested, partitionKey);
      for (const [key, offset] of result.next) {
        const position = this.#next.get(key);
        if (position !== undefined && offset > position.offset) position.offset = offset;
      }
      messages.push(...result.messages);
    }
    return messages;
  }

  /** Moves partitions whose offset Kafka no longer has to the closest offset it does have. */
  async #recoverOutOfRange(): Promise<void> {
    const positions = [...this.#next.values()];
    const bounds = await this.#gateway.bounds(positions);
    for (const position of positions) {
      const bound = bounds.get(partitionKey(position.topic, position.partition));
      if (bound === undefined) continue;
      if (position.offset < bound.earliest || position.offset > bound.latest) {
        const before = position.offset < bound.earliest;
        const requested = { topic: position.topic, partition: position.partition, offset: position.offset };
        position.offset = before ? bound.earliest : bound.latest;
        this.#events.positionLost({
          topic: position.topic,
          partition: position.partition,
          offset: position.offset,
          requested,
          notice: before ? 'offset_before_earliest' : 'offset_beyond_end',
        });
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
