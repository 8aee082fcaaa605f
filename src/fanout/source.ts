import type { FastifyBaseLogger } from 'fastify';
import { prepareEvent, type PreparedEvent } from '../event/prepared-event.ts';
import type { FrameAlloc } from '../event/frame.ts';
import type { KafkaMessage } from '../kafka/records.ts';
import type { OffsetLookup } from '../kafka/start-positions.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { PartitionCursor } from './cursor.ts';
import type { KeyWatch } from '../event/meta-splice.ts';
import type { Sanitizer } from '../sanitize/sanitizer.ts';

/** Where a connection's cursors get their events from. */
export interface EventSource {
  /** How this source resolves positions (it may know offsets without asking Kafka). */
  readonly offsets: OffsetLookup;
  /**
   * Whether it reads each partition at its own pace (`EventSink.writable` per slot) and tells the
   * sink when a partition reaches the live tail (`EventSink.caughtUp`): what replaying several
   * partitions in time order needs.
   */
  readonly ordersReplay: boolean;
  /** `ends` holds each partition's high watermark when the positions were resolved. */
  subscribe(cursors: readonly PartitionCursor[], ends: ReadonlyMap<string, number>): Subscription;
  stop(): Promise<void>;
}

export interface Subscription {
  close(): void;
}

/**
 * Decodes and sanitizes once; a message that cannot be served is logged and counted here, once,
 * not per client. `alloc`: where its frame goes (by default a buffer of its own, as cached events need).
 */
export function prepareSanitized(message: KafkaMessage, maxBytes: number, sanitizer: Sanitizer, metrics: Metrics, log: FastifyBaseLogger, alloc?: FrameAlloc): PreparedEvent {
  const watch = sanitizer.watchFor(message.topic);
  return sanitizer.prepare(prepareLogged(message, maxBytes, metrics, log, alloc, watch), watch);
}

/** Decodes once; a message that cannot be served is logged and counted here, once, not per client. */
export function prepareLogged(message: KafkaMessage, maxBytes: number, metrics: Metrics, log: FastifyBaseLogger, alloc?: FrameAlloc, watch?: KeyWatch): PreparedEvent {
  const event = prepareEvent(message, maxBytes, alloc, watch);
  if (event.skip !== undefined) {
    metrics.skippedMessages.inc({ reason: event.skip });
    log.warn({ topic: message.topic, partition: message.partition, offset: message.offset, reason: event.skip }, 'skipped a Kafka message that is not a servable event');
  }
  return event;
}
