import type { LogBounds } from './records.ts';
import {
  partitionKey,
  type PartitionPosition,
  type PositionNoticeReason,
  type RequestedPosition,
  type StartPosition,
  type TopicPartition,
} from '../protocol/position.ts';

/** What resolving positions needs from Kafka (a narrow seam, so the rules are testable without it). */
export interface OffsetLookup {
  /** Partition counts of the topics that exist; missing topics are absent from the map. */
  partitionCounts(topics: readonly string[]): Promise<Map<string, number>>;
  /**
   * Earliest retained and next (high-watermark) offsets, keyed by `partitionKey`. May answer from
   * recent knowledge; `fresh` asks Kafka itself.
   */
  bounds(partitions: readonly TopicPartition[], fresh?: boolean): Promise<Map<string, LogBounds>>;
  /** First offset whose timestamp is >= `timestamp`, or undefined when there is none yet. */
  offsetsForTimestamp(partitions: readonly TopicPartition[], timestamp: number): Promise<Map<string, number | undefined>>;
  /** The largest timestamp of each partition's events and the offset of the event with it; absent when empty. */
  maxTimestamps(partitions: readonly TopicPartition[]): Promise<Map<string, { offset: number; timestamp: number }>>;
}

export interface AssignmentRequest {
  /** Topics of the requested streams, in order: what a connection without `Last-Event-ID` reads. */
  topics: readonly string[];
  /** Topics a `Last-Event-ID` may name: `topics` plus each stream's `topics_allowed`. */
  allowedTopics: readonly string[];
  /** Parsed `Last-Event-ID`; empty when absent. It replaces the topic list, bounded by `allowedTopics`. */
  positions: readonly RequestedPosition[];
  since?: number;
  now: number;
}

/** A `Last-Event-ID` element that names a partition the topic does not have. */
export interface DroppedPosition {
  position: PartitionPosition;
  notice: 'unknown_partition';
}

export interface Assignment {
  starts: StartPosition[];
  dropped: DroppedPosition[];
  /** Requested topics that do not exist in Kafka (a configuration problem, logged by the caller). */
  missingTopics: string[];
  /** Each partition's high watermark at resolution, by `partitionKey`: where a new shared reader starts. */
  ends: Map<string, number>;
}

/** Why a request's positions cannot be served at all. */
export type PositionRefusal = 'topic_not_allowed';

/** A request whose positions cannot be served at all. */
export class PositionError extends Error {
  readonly kind: PositionRefusal;
  constructor(kind: PositionRefusal, message: string) {
    super(message);
    this.kind = kind;
  }
}

/** Clock skew we tolerate before calling a timestamp "in the future". */
const FUTURE_TOLERANCE_MS = 1000;

type Wanted = PartitionPosition | { since: number } | 'latest';

/**
 * Turns what a client asked for into a concrete next offset for every partition it will read,
 * noting every place where the request could not be honoured exactly instead of silently moving.
 */
export async function resolveAssignment(request: AssignmentRequest, lookup: OffsetLookup): Promise<Assignment> {
  const allowed = new Set(request.allowedTopics);
  for (const position of request.positions) {
    const topic = typeof position === 'string' ? position : position.topic;
    if (!allowed.has(topic)) {
      throw new PositionError('topic_not_allowed', `Last-Event-ID names topic '${topic}', which the requested streams do not include`);
    }
  }
  const mentioned = new Set(request.positions.map((p) => (typeof p === 'string' ? p : p.topic)));
  const topics = request.positions.length === 0 ? [...request.topics] : request.allowedTopics.filter((t) => mentioned.has(t));
  const counts = await lookup.partitionCounts(topics);
  const missingTopics = topics.filter((t) => !counts.has(t));

  const wanted = new Map<string, { tp: TopicPartition; want: Wanted; notice?: PositionNoticeReason }>();
  const dropped: DroppedPosition[] = [];
  const fallback: Wanted = request.since === undefined ? 'latest' : { since: request.since };
  for (const topic of topics) {
    const count = counts.get(topic);
    if (count === undefined) continue;
    const entries = request.positions.filter((p): p is PartitionPosition => typeof p !== 'string' && p.topic === topic);
    const wholeTopic = request.positions.length === 0 || request.positions.includes(topic);
    // A partition the id does not mention (e.g. added since) starts where the id's others do, not at the end.
    const stamps = entries.flatMap((e) => (e.offset === undefined && e.timestamp !== undefined ? [e.timestamp] : []));
    const omitted: Wanted = stamps.length > 0 ? { since: Math.min(...stamps) } : fallback;
    for (let partition = 0; partition < count; partition++) {
      const entry = entries.find((e) => e.partition === partition);
      const tp = { topic, partition };
      if (entry !== undefined) wanted.set(partitionKey(topic, partition), { tp, want: entry });
      else if (wholeTopic) wanted.set(partitionKey(topic, partition), { tp, want: fallback });
      else wanted.set(partitionKey(topic, partition), { tp, want: omitted, notice: 'partition_not_in_id' });
    }
    for (const entry of entries) {
      if (entry.partition >= count) dropped.push({ position: entry, notice: 'unknown_partition' });
    }
  }

  const all = [...wanted.values()].map((w) => w.tp);
  const bounds = await lookup.bounds(all);
  // An offset past the end we know of may just be newer than that knowledge: ask Kafka itself.
  const beyond = [...wanted].filter(([key, w]) => typeof w.want === 'object' && 'offset' in w.want && (w.want.offset ?? -1) > (bounds.get(key)?.latest ?? Infinity));
  if (beyond.length > 0) {
    for (const [key, bound] of await lookup.bounds(beyond.map(([, w]) => w.tp), true)) bounds.set(key, bound);
  }
  // Starts at the end also get their place in time (StartPosition.after): the newest timestamp before it.
  const atEnd = new Map([...wanted].filter(([key, w]) => startsAtEnd(w.want) && w.notice === undefined && (bounds.get(key)?.latest ?? 0) > (bounds.get(key)?.earliest ?? 0)).map(([key, w]) => [key, w.tp]));
  // A broker without MAX_TIMESTAMP (before Kafka 3.0) leaves those starts in offsets, as before.
  const newest = atEnd.size > 0 ? await lookup.maxTimestamps([...atEnd.values()]).catch(() => new Map<string, { offset: number; timestamp: number }>()) : new Map<string, { offset: number; timestamp: number }>();
  const anchors = [...newest].flatMap(([key, n]) => {
    const tp = atEnd.get(key);
    return tp === undefined ? [] : [{ tp, timestamp: n.timestamp }];
  });
  const byTimestamp = await lookupTimestamps([...wanted.values()], lookup, anchors);

  const starts: StartPosition[] = [];
  const ends = new Map<string, number>();
  for (const [key, { tp, want, notice }] of wanted) {
    const bound = bounds.get(key);
    if (bound === undefined) throw new Error(`no offsets for ${tp.topic}/${tp.partition}`);
    ends.set(key, bound.latest);
    const resolved = resolveOne(want, bound, (ts) => byTimestamp.get(ts)?.get(key), request.now);
    const start: StartPosition = { ...tp, offset: resolved.offset };
    if (want !== 'latest') start.requested = want;
    const finalNotice = notice ?? resolved.notice;
    if (finalNotice !== undefined) start.notice = finalNotice;
    const last = newest.get(key);
    const runStart = last === undefined ? undefined : byTimestamp.get(last.timestamp)?.get(key);
    // The newest event is before the start (nothing newer was written in between) and its run is found.
    if (last !== undefined && runStart !== undefined && last.offset < start.offset && runStart <= last.offset) {
      start.after = { timestamp: last.timestamp + 1, tsSeen: start.offset - runStart };
    }
    starts.push(start);
  }
  return { starts, dropped, missingTopics, ends };
}

function startsAtEnd(want: Wanted): boolean {
  return want === 'latest' || (typeof want === 'object' && 'offset' in want && want.offset === -1);
}

async function lookupTimestamps(
  wanted: { tp: TopicPartition; want: Wanted }[],
  lookup: OffsetLookup,
  more: { tp: TopicPartition; timestamp: number }[],
): Promise<Map<number, Map<string, number | undefined>>> {
  const byStamp = new Map<number, TopicPartition[]>();
  const add = (ts: number, tp: TopicPartition) => {
    const list = byStamp.get(ts) ?? [];
    list.push(tp);
    byStamp.set(ts, list);
  };
  for (const { tp, want } of wanted) {
    if (want === 'latest') continue;
    if ('since' in want) add(want.since, tp);
    else if (want.offset === undefined && want.timestamp !== undefined) {
      add(want.timestamp, tp);
      if (want.tsSeen !== undefined && want.tsSeen > 0 && want.timestamp > 0) add(want.timestamp - 1, tp);
    }
  }
  for (const { tp, timestamp } of more) add(timestamp, tp);
  const results = await Promise.all(
    [...byStamp].map(async ([ts, tps]) => [ts, await lookup.offsetsForTimestamp(tps, ts)] as const),
  );
  return new Map(results);
}

function resolveOne(
  want: Wanted,
  bound: LogBounds,
  offsetAt: (timestamp: number) => number | undefined,
  now: number,
): { offset: number; notice?: PositionNoticeReason } {
  if (want === 'latest') return { offset: bound.latest };
  if (!('since' in want) && want.offset !== undefined) {
    if (want.offset === -1) return { offset: bound.latest };
    if (want.offset === -2) return { offset: bound.earliest };
    if (want.offset < bound.earliest) return { offset: bound.earliest, notice: 'offset_before_earliest' };
    if (want.offset > bound.latest) return { offset: bound.latest, notice: 'offset_beyond_end' };
    return { offset: want.offset };
  }
  const timestamp = 'since' in want ? want.since : (want.timestamp ?? 0);
  const first = offsetAt(timestamp);
  if (!('since' in want) && want.tsSeen !== undefined && want.tsSeen > 0) {
    // The run of events at `timestamp - 1` starts at `runStart`; the client has its first `tsSeen`.
    const runStart = offsetAt(timestamp - 1);
    if (runStart !== undefined) return { offset: Math.min(runStart + want.tsSeen, first ?? bound.latest) };
  }
  if (first === undefined) {
    return timestamp > now + FUTURE_TOLERANCE_MS
      ? { offset: bound.latest, notice: 'timestamp_in_future' }
      : { offset: bound.latest };
  }
  if (first === bound.earliest && bound.earliest > 0) return { offset: first, notice: 'timestamp_before_retention' };
  return { offset: first };
}
