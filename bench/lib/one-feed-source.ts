import type { PartitionFeed } from '../../src/fanout/partition-feed.ts';
import type { EventSource } from '../../src/fanout/source.ts';

/** Positions are resolved before a stream follows its source: nothing in process asks. */
const notResolved = (): Promise<never> => Promise.reject(new Error('positions are resolved before a stream follows its source'));

/**
 * The hub's part for one partition's feed, in process (benchmarks and tests without Kafka):
 * cursors join the feed live through its cache, and leave it.
 */
export function oneFeedSource(feed: PartitionFeed): EventSource {
  return {
    offsets: { partitionCounts: notResolved, bounds: notResolved, offsetsForTimestamp: notResolved, maxTimestamps: notResolved },
    ordersReplay: true,
    subscribe: (cursors) => {
      for (const cursor of cursors) feed.replay(cursor, Number.MAX_SAFE_INTEGER);
      return { close: () => cursors.forEach((cursor) => feed.leave(cursor)) };
    },
    stop: () => Promise.resolve(),
  };
}
