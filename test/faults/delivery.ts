/** Checks of what fault-test clients received against what Kafka holds. */
import { expect } from 'vitest';
import { KafkaGateway } from '../../src/kafka/gateway.ts';
import { partitionKey } from '../../src/protocol/position.ts';
import type { RawStream } from '../support/sse.ts';

export interface Delivered {
  partition: number;
  offset: number;
}

/** Each partition's high watermark, asked of Kafka itself. */
export async function partitionEnds(brokers: string[], topic: string, partitions: number): Promise<Map<number, number>> {
  const gateway = new KafkaGateway({ brokers, clientId: 'fault-test', fetchMaxWaitMs: 100, fetchMaxBytesPerPartition: 1 << 20, requestTimeoutMs: 5000 });
  try {
    const bounds = await gateway.bounds(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })));
    return new Map(Array.from({ length: partitions }, (_, p) => [p, bounds.get(partitionKey(topic, p))?.latest ?? 0]));
  } finally {
    await gateway.close();
  }
}

/**
 * Every offset from `first` (per partition) up to the partition's end, once and in order: no gap,
 * no duplicate, no reordering. Returns how many events were checked.
 */
export function checkDelivered(received: readonly Delivered[], first: ReadonlyMap<number, number>, ends: ReadonlyMap<number, number>): number {
  for (const [partition, end] of ends) {
    const offsets = received.filter((e) => e.partition === partition).map((e) => e.offset);
    const start = first.get(partition) ?? 0;
    expect(offsets, `partition ${partition}`).toEqual(Array.from({ length: end - start }, (_, i) => start + i));
  }
  return received.length;
}

/** `checkDelivered` for a raw client, from the start offsets its response announced. */
export function checkExactlyOnce(client: RawStream, ends: ReadonlyMap<number, number>): number {
  const starts = JSON.parse(String(client.headers['eventstreams-start-positions'])) as { partition: number; offset: number }[];
  const received = client.messages().map((m) => m.data.meta as Delivered);
  return checkDelivered(received, new Map(starts.map((s) => [s.partition, s.offset])), ends);
}

/** Samples every 100 ms how long each stream has gone without a byte; `stop()` gives the longest such silence seen. */
export function silenceSampler(clients: readonly RawStream[]): { stop(): number } {
  const lengths = clients.map((c) => c.text().length);
  const since = clients.map(() => Date.now());
  let longest = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    clients.forEach((c, i) => {
      const length = c.text().length;
      if (length !== lengths[i]) {
        lengths[i] = length;
        since[i] = now;
      }
      longest = Math.max(longest, now - (since[i] ?? now));
    });
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return longest;
    },
  };
}
