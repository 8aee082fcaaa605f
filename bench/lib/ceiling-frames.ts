/**
 * The bytes of the fan-out ceiling (bench/lib/ceiling-server.ts): what the service sends a client
 * of `GET /v2/stream/recentchange` that connected before the events, for the events the bench
 * producer writes, built without Kafka. Per event, as the service frames it:
 *
 *   event: message
 *   id: [{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":<ts+1>,"ts_seen":<n>},{"topic":"codfw.mediawiki.recentchange","partition":0,"offset":<start>}]
 *   data: {"bench":{"seq":N,"sent_ms":T},...the recorded event, meta.topic/partition/offset added...}
 *
 * The value is the producer's (`benchValue`), seq k goes to topic k % 2 (partition 0) with the
 * Kafka timestamp T = sent_ms of its tick; `data:` is the service's own encoding of it
 * (`encodeEvent`: the byte-level meta splice) and the head its own `sseMessageHead`. The id is an
 * EventStreams id over both partitions: a partition that delivered carries `timestamp + 1` of its
 * last event and `ts_seen` (events of that millisecond so far), one that has not its start offset
 * (0: a fresh broker), exactly as `PositionIds` writes it for a client that started live.
 */
import { encodeEvent } from '../../src/event/codec.ts';
import { sseMessageHead } from '../../src/event/frame.ts';
import { benchValue } from './bench-events.ts';

/** The service's default `max_event_bytes` (4 MiB): no bench event comes near it. */
const MAX_EVENT_BYTES = 4 * 2 ** 20;

interface Partition {
  readonly topic: string;
  /** `{"topic":"…","partition":0,` */
  readonly prefix: string;
  /** Its element before it delivered anything. */
  readonly undelivered: string;
  nextOffset: number;
  lastTimestamp: number;
  tsSeen: number;
  delivered: boolean;
}

export class CeilingFrames {
  readonly #templates: readonly string[];
  readonly #partitions: Partition[];
  /** The next seq (the producer's numbering: seq k goes to partition k % topics). */
  nextSeq = 0;

  /** `startOffsets[i]`: the first offset of topic i (the offset the client's id names until it delivers). */
  constructor(templates: readonly string[], topics: readonly string[], startOffsets: readonly number[] = topics.map(() => 0)) {
    this.#templates = templates;
    this.#partitions = topics.map((topic, i) => ({
      topic,
      prefix: `{"topic":${JSON.stringify(topic)},"partition":0,`,
      undelivered: JSON.stringify({ topic, partition: 0, offset: startOffsets[i] ?? 0 }),
      nextOffset: startOffsets[i] ?? 0,
      lastTimestamp: -1,
      tsSeen: 0,
      delivered: false,
    }));
  }

  /** The next event's frame: head with the id after it, then the data line. */
  next(sentMs: number): Buffer {
    return this.event(this.nextSeq++, sentMs);
  }

  /**
   * The frame of event `seq` produced at `sentMs`, as a client receives it after the events given
   * before (their order within a partition is the offsets' order; `next` gives them in seq order).
   */
  event(seq: number, sentMs: number): Buffer {
    const p = this.#partitions[seq % this.#partitions.length]!;
    const offset = p.nextOffset++;
    const encoded = encodeEvent({ topic: p.topic, partition: 0, offset, timestamp: sentMs, key: null, value: benchValue(this.#templates, seq, sentMs) }, MAX_EVENT_BYTES);
    if (!encoded.ok) throw new Error(`ceiling: bench event ${seq} is not servable (${encoded.reason})`);
    p.tsSeen = p.delivered && p.lastTimestamp === sentMs ? p.tsSeen + 1 : 1;
    p.lastTimestamp = sentMs;
    p.delivered = true;
    let id = '[';
    for (const q of this.#partitions) {
      id += (id.length > 1 ? ',' : '') + (q.delivered ? `${q.prefix}"timestamp":${q.lastTimestamp + 1},"ts_seen":${q.tsSeen}}` : q.undelivered);
    }
    id += ']';
    return Buffer.concat([Buffer.from(sseMessageHead(id)), encoded.frame]);
  }

  /** `count` events produced at `sentMs` (one tick), as one buffer. */
  batch(count: number, sentMs: number): Buffer {
    const frames: Buffer[] = [];
    for (let i = 0; i < count; i++) frames.push(this.next(sentMs));
    return frames.length === 1 ? frames[0]! : Buffer.concat(frames);
  }
}
