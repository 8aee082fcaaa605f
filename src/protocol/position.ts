/** A Kafka topic-partition. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/**
 * One element of a `Last-Event-ID` array, or of the `id` we send: where to resume one partition.
 * `offset` wins over `timestamp`. `tsSeen` is our extension (wire key `ts_seen`): how many events
 * with timestamp `timestamp - 1` the client already has, so a resume does not skip later events that
 * share that millisecond (the original's `timestamp + 1` ids lose them).
 */
export interface PartitionPosition extends TopicPartition {
  offset?: number;
  timestamp?: number;
  tsSeen?: number;
}

/** A whole `Last-Event-ID` element: a topic name (all its partitions) or one partition's position. */
export type RequestedPosition = string | PartitionPosition;

/** Why a requested position could not be honoured exactly. */
export type PositionNoticeReason =
  | 'offset_before_earliest'
  | 'offset_beyond_end'
  | 'timestamp_before_retention'
  | 'timestamp_in_future'
  | 'partition_not_in_id'
  | 'unknown_partition';

/** Where a partition actually starts on this connection, and why if it differs from the request. */
export interface StartPosition extends TopicPartition {
  /** Next offset to read. */
  offset: number;
  /** The position as the client asked for it (absent: the client named no position, we start at the end). */
  requested?: PartitionPosition | { since: number } | 'latest';
  /** Set when the request could not be honoured exactly. */
  notice?: PositionNoticeReason;
  /**
   * A start at the end of the partition, in time rather than offset: after the first `tsSeen`
   * events from the first one with timestamp `timestamp - 1` on, the timestamp being the largest of
   * the events before the start. It names the same place in another data centre's copy of the
   * topic, whose offsets differ, so an id of a partition that delivered nothing resumes there too.
   */
  after?: { timestamp: number; tsSeen: number };
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
