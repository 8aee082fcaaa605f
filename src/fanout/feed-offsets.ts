import type { LogBounds } from '../kafka/records.ts';
import type { OffsetLookup } from '../kafka/start-positions.ts';
import { partitionKey, type TopicPartition } from '../protocol/position.ts';
import type { PartitionFeed } from './partition-feed.ts';

/**
 * Offset look-ups that followed partitions answer from memory: their shared reader learns the
 * log's bounds at every fetch, and its cache answers timestamps it holds. A reconnect storm then
 * costs Kafka nothing; everything else is asked of Kafka.
 */
export class FeedOffsets implements OffsetLookup {
  readonly #gateway: OffsetLookup;
  readonly #feed: (key: string) => PartitionFeed | undefined;
  readonly #maxAgeMs: number;

  /** `maxAgeMs`: how old a feed's bounds may be; a live feed refreshes them at least every fetch wait. */
  constructor(gateway: OffsetLookup, feed: (key: string) => PartitionFeed | undefined, maxAgeMs: number) {
    this.#gateway = gateway;
    this.#feed = feed;
    this.#maxAgeMs = maxAgeMs;
  }

  partitionCounts(topics: readonly string[]): Promise<Map<string, number>> {
    return this.#gateway.partitionCounts(topics);
  }

  async bounds(partitions: readonly TopicPartition[], fresh = false): Promise<Map<string, LogBounds>> {
    const result = new Map<string, LogBounds>();
    const ask: TopicPartition[] = [];
    const now = Date.now();
    for (const tp of partitions) {
      const key = partitionKey(tp.topic, tp.partition);
      const feed = this.#feed(key);
      if (!fresh && feed?.bounds !== undefined && now - feed.boundsAt <= this.#maxAgeMs) {
        result.set(key, { earliest: feed.bounds.earliest, latest: Math.max(feed.bounds.latest, feed.tail) });
      } else {
        ask.push(tp);
      }
    }
    if (ask.length > 0) for (const [key, bound] of await this.#gateway.bounds(ask)) result.set(key, bound);
    return result;
  }

  async offsetsForTimestamp(partitions: readonly TopicPartition[], timestamp: number): Promise<Map<string, number | undefined>> {
    const result = new Map<string, number | undefined>();
    const ask: TopicPartition[] = [];
    for (const tp of partitions) {
      const key = partitionKey(tp.topic, tp.partition);
      const offset = this.#feed(key)?.cache.offsetForTimestamp(timestamp);
      if (offset !== undefined) result.set(key, offset);
      else ask.push(tp);
    }
    if (ask.length > 0) for (const [key, offset] of await this.#gateway.offsetsForTimestamp(ask, timestamp)) result.set(key, offset);
    return result;
  }

  async maxTimestamps(partitions: readonly TopicPartition[]): Promise<Map<string, { offset: number; timestamp: number }>> {
    const result = new Map<string, { offset: number; timestamp: number }>();
    const ask: TopicPartition[] = [];
    const now = Date.now();
    for (const tp of partitions) {
      const key = partitionKey(tp.topic, tp.partition);
      const feed = this.#feed(key);
      // The newest cached event has the largest timestamp (they rise along a partition) when the
      // cache reaches the end these bounds answer with.
      const newest = feed?.cache.newest();
      if (feed?.bounds !== undefined && newest !== undefined && now - feed.boundsAt <= this.#maxAgeMs && feed.cache.end >= Math.max(feed.bounds.latest, feed.tail)) {
        result.set(key, { offset: newest.offset, timestamp: newest.timestamp });
      } else {
        ask.push(tp);
      }
    }
    if (ask.length > 0) for (const [key, found] of await this.#gateway.maxTimestamps(ask)) result.set(key, found);
    return result;
  }
}
