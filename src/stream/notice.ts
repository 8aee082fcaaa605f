import type { DroppedPosition } from '../kafka/start-positions.ts';
import type { PositionNoticeReason, StartPosition } from '../protocol/position.ts';

const EXPLANATIONS: Record<PositionNoticeReason, string> = {
  offset_before_earliest: 'the requested offset is no longer retained; starting at the earliest retained event',
  offset_beyond_end: 'the requested offset is beyond the end of the partition; starting at the end',
  timestamp_before_retention: 'the requested time is older than what Kafka retains; starting at the earliest retained event',
  timestamp_in_future: 'the requested time is in the future; starting at the end',
  partition_not_in_id: 'Last-Event-ID did not cover this partition; starting it where the id covers its topic',
  unknown_partition: 'the topic has no such partition; ignoring it',
};

/** Machine-readable account of positions that were not honoured exactly (`event: notice`). */
export function positionNotice(starts: readonly StartPosition[], dropped: readonly DroppedPosition[]): string | undefined {
  const positions = [
    ...starts.filter((s) => s.notice !== undefined).map((s) => ({
      topic: s.topic,
      partition: s.partition,
      requested: s.requested ?? 'latest',
      offset: s.offset,
      reason: s.notice,
      message: EXPLANATIONS[s.notice ?? 'unknown_partition'],
    })),
    ...dropped.map((d) => ({
      topic: d.position.topic,
      partition: d.position.partition,
      requested: d.position,
      reason: d.notice,
      message: EXPLANATIONS[d.notice],
    })),
  ];
  if (positions.length === 0) return undefined;
  return JSON.stringify({ type: 'position', message: 'Some requested positions could not be honoured exactly', positions });
}

/** The response header value listing where every partition actually starts. */
export function startPositionsHeader(starts: readonly StartPosition[]): string {
  return JSON.stringify(starts.map((s) => ({ topic: s.topic, partition: s.partition, offset: s.offset })));
}
