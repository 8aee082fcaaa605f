import type { KafkaMessage } from '../kafka/records.ts';
import { decodeMessage, type SkipReason } from '../stream/event-codec.ts';

/**
 * A Kafka message decoded once for every client that receives it. `data` is shared by all of
 * them; each client only adds its own `id` line.
 */
export interface PreparedEvent {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  /** The event's JSON with the Kafka position in `meta`; absent when the message is skipped. */
  data?: string;
  canary: boolean;
  skip?: SkipReason;
}

export function prepareEvent(message: KafkaMessage, maxBytes: number): PreparedEvent {
  const { topic, partition, offset, timestamp } = message;
  const decoded = decodeMessage(message, maxBytes);
  if (!decoded.ok) return { topic, partition, offset, timestamp, canary: false, skip: decoded.reason };
  return { topic, partition, offset, timestamp, data: decoded.data, canary: decoded.canary };
}

/** Approximate memory of an event, for cache budgets. */
export function eventBytes(event: PreparedEvent): number {
  return 96 + (event.data?.length ?? 0);
}
