import type { Consumer } from '@platformatic/kafka';

export type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;
export type FetchRequestTopic = Parameters<Consumer['fetch']>[0]['topics'][number];

/** A partition's earliest retained offset and its high watermark (the next offset to be written). */
export interface LogBounds {
  earliest: number;
  latest: number;
}

/** One Kafka message as the service handles it. */
export interface KafkaMessage {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
}

const CONTROL_BATCH = 0x20;
const LOG_APPEND_TIME = 0x08;

/**
 * Flattens a fetch response into messages in per-partition order, dropping what precedes the
 * requested offsets (a fetch returns whole batches) and transaction control markers. `next` gets
 * the offset after the last batch seen, control batches included, so the reader never refetches them.
 */
export function messagesFromFetch(
  response: FetchResponse,
  topicNames: ReadonlyMap<string, string>,
  requested: ReadonlyMap<string, number>,
  key: (topic: string, partition: number) => string,
): { messages: KafkaMessage[]; next: Map<string, number>; bounds: Map<string, LogBounds> } {
  const messages: KafkaMessage[] = [];
  const next = new Map<string, number>();
  const bounds = new Map<string, LogBounds>();
  for (const topicResponse of response.responses) {
    const topic = topicNames.get(topicResponse.topicId) ?? topicResponse.topicId;
    for (const partitionResponse of topicResponse.partitions) {
      const partition = partitionResponse.partitionIndex;
      const from = requested.get(key(topic, partition));
      if (from === undefined) continue;
      bounds.set(key(topic, partition), { earliest: Number(partitionResponse.logStartOffset), latest: Number(partitionResponse.highWatermark) });
      if (!partitionResponse.records) continue;
      for (const batch of partitionResponse.records) {
        const first = Number(batch.firstOffset);
        next.set(key(topic, partition), first + batch.lastOffsetDelta + 1);
        if (batch.attributes & CONTROL_BATCH) continue;
        const appendTime = (batch.attributes & LOG_APPEND_TIME) !== 0;
        // Milliseconds are far below 2^53: Numbers, not a BigInt sum per record.
        const base = Number(appendTime ? batch.maxTimestamp : batch.firstTimestamp);
        for (const record of batch.records) {
          const offset = first + record.offsetDelta;
          if (offset < from) continue;
          const timestamp = appendTime ? base : base + Number(record.timestampDelta);
          messages.push({ topic, partition, offset, timestamp, key: record.key, value: record.value });
        }
      }
    }
  }
  return { messages, next, bounds };
}
