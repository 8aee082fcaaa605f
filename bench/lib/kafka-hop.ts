import { Consumer, ListOffsetTimestamps } from '@platformatic/kafka';
import type { Percentiles } from './loadgen-protocol.ts';
import { sleep } from './run.ts';
import { percentiles } from './stats.ts';

/** A bench event's `sent_ms`, written by `benchValue` at the start of every value. */
const SENT_MS = /"sent_ms":(\d+)/;

/**
 * The Kafka hop on its own: a bare consumer (group-less fetches, as the service's reader does)
 * following the bench topics' first partitions from their end, timing every event from its
 * produce (`sent_ms`) to its arrival here. What the service adds to latency on top of this is its
 * own; the bare-Node ceiling has no such hop.
 */
export class KafkaHop {
  readonly #consumer: Consumer;
  #latencies: number[] = [];
  #stopped = false;
  #loop: Promise<void> = Promise.resolve();

  private constructor(consumer: Consumer) {
    this.#consumer = consumer;
  }

  static async start(brokers: string[], topics: readonly string[]): Promise<KafkaHop> {
    const consumer = new Consumer({ clientId: 'eventstreams-bench-kafka-hop', groupId: 'eventstreams-groupless', bootstrapBrokers: brokers, maxWaitTime: 500, minBytes: 1 });
    const hop = new KafkaHop(consumer);
    const metadata = await consumer.metadata({ topics: [...topics] });
    const ends = await consumer.listOffsets({ topics: [...topics], partitions: Object.fromEntries(topics.map((t) => [t, [0]])), timestamp: ListOffsetTimestamps.LATEST });
    const offsets = new Map(topics.map((t) => [t, ends.get(t)?.[0] ?? 0n]));
    const leader = metadata.topics.get(topics[0]!)?.partitions[0]?.leader;
    if (leader === undefined) throw new Error(`kafka hop: no leader for ${topics[0]}/0`);
    const byId = new Map(topics.map((t) => [metadata.topics.get(t)!.id, t]));
    hop.#loop = hop.#follow(leader, byId, offsets);
    return hop;
  }

  /** Forgets what was timed so far (a measurement window starts). */
  reset(): void {
    this.#latencies = [];
  }

  /** Produce-to-arrival latencies (ms) since the last reset. */
  take(): Percentiles {
    return percentiles(this.#latencies);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#consumer.close(true).catch(() => undefined);
    await this.#loop.catch(() => undefined);
  }

  async #follow(leader: number, byId: ReadonlyMap<string, string>, offsets: Map<string, bigint>): Promise<void> {
    while (!this.#stopped) {
      const response = await this.#consumer
        .fetch({
          node: leader,
          maxWaitTime: 500,
          minBytes: 1,
          topics: [...byId].map(([topicId, topic]) => ({ topicId, partitions: [{ partition: 0, fetchOffset: offsets.get(topic)!, currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: 1024 * 1024 }] })),
        })
        // A failed fetch is retried after a pause (a busy broker); the loop ends once stopped.
        .catch(() => sleep(100).then(() => undefined));
      if (response === undefined) continue;
      const now = Date.now();
      for (const byTopic of response.responses) {
        const topic = byId.get(byTopic.topicId);
        if (topic === undefined) continue;
        for (const partition of byTopic.partitions) {
          for (const batch of partition.records ?? []) {
            for (const record of batch.records) {
              const sent = record.value === null ? null : SENT_MS.exec(record.value.subarray(0, 64).toString('latin1'));
              if (sent !== null) this.#latencies.push(now - Number(sent[1]));
              offsets.set(topic, batch.firstOffset + BigInt(record.offsetDelta) + 1n);
            }
          }
        }
      }
    }
  }
}
