import { Producer } from '@platformatic/kafka';
import type { StreamConfig } from '../catalogue/types.ts';
import { ensureTopics } from '../kafka/admin.ts';
import { deriveFromRecentchange, deriveFromRecordedPageChange, type DerivedEvent } from './derive/derive.ts';
import {
  canaryEvent,
  freshen,
  groupByStream,
  messageKey,
  PAGE_CHANGE_STREAM,
  readDemoSources,
  RECENTCHANGE_STREAM,
  schemaExampleFor,
  type DemoSources,
  type JsonObject,
} from './events.ts';

/** The two pino methods the replay uses. */
export interface DemoLog {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
}

export interface DemoReplayOptions {
  brokers: string[];
  /** The catalogue; streams with recorded events are replayed, every stream gets canaries. */
  streams: readonly StreamConfig[];
  /** mediawiki.recentchange events per second; the other streams scale with it. Default 25. */
  ratePerSecond?: number;
  /** One canary event per topic this often; 0 = none. Default 60 s. */
  canaryIntervalMs?: number;
  /** How often a batch is produced. Default 100 ms. */
  tickMs?: number;
  /** Create missing topics (1 partition) before producing. Default true. */
  createTopics?: boolean;
  /** The recordings; default: the shipped data/demo files. */
  sources?: DemoSources;
  log?: DemoLog;
}

export interface DemoReplay {
  /** Stops producing and closes the producer. */
  stop(): Promise<void>;
  /** Messages the broker has acknowledged so far (events and canaries). */
  produced(): number;
}

export const DEFAULT_RECENTCHANGE_RATE = 25;

/**
 * Events per second of the replayed recordings at the default recentchange rate of 25/s, i.e. the
 * live firehose scaled down (the recording shows ~40 recentchange/s on 2026-08-04). The streams
 * derived from them follow their proportions (about half of recentchange events are edits, each
 * also a revision-create and a page_change...). The recorded page_change stories (create, edit,
 * delete, suppress, undelete, visibility change on test.wikidata and commons) add the actions
 * the recentchange recording lacks, slowly. The test stream emits ~1/minute, as in production.
 */
export const DEFAULT_RATES: Readonly<Record<string, number>> = {
  [RECENTCHANGE_STREAM]: 25,
  [PAGE_CHANGE_STREAM]: 0.5,
  'eventgate-main.test.event': 1 / 60,
};

/** The events that follow from a replayed event of these streams, in the same request. */
const DERIVATIONS: Readonly<Record<string, (event: JsonObject) => DerivedEvent[]>> = {
  [RECENTCHANGE_STREAM]: deriveFromRecentchange,
  [PAGE_CHANGE_STREAM]: deriveFromRecordedPageChange,
};

/** Rate of a stream missing from DEFAULT_RATES, at the default recentchange rate. */
const OTHER_STREAM_RATE = 0.5;

/** After a stall (slow broker) produce at most this much backlog at once, not a burst. */
const MAX_CATCH_UP_S = 1;

/** Produce errors are logged at most this often while they persist. */
const ERROR_LOG_INTERVAL_MS = 10_000;

/** Events per second of `stream` when recentchange runs at `ratePerSecond`. */
export function streamRate(stream: string, ratePerSecond: number = DEFAULT_RECENTCHANGE_RATE): number {
  return ((DEFAULT_RATES[stream] ?? OTHER_STREAM_RATE) * ratePerSecond) / DEFAULT_RECENTCHANGE_RATE;
}

/**
 * The topic of a stream's n-th event. Production writes to the active data centre's topic and
 * little to the other; we send 9 in 10 to the first topic and the 10th to the others in turn, so
 * every topic of a stream is live and consumers must merge them.
 */
export function pickTopic(topics: readonly string[], n: number): string {
  const first = topics[0];
  if (first === undefined) throw new Error('stream has no topics');
  if (topics.length === 1 || n % 10 !== 9) return first;
  const others = topics.length - 1;
  return topics[1 + (Math.floor(n / 10) % others)] ?? first;
}

/** One stream being replayed: where it is in its recording and how much it owes. */
interface Lane {
  stream: StreamConfig;
  /** The catalogue's streams by name, for the events derived from this lane's. */
  streams: ReadonlyMap<string, StreamConfig>;
  events: JsonObject[];
  rate: number;
  next: number;
  pass: number;
  owed: number;
  sent: number;
}

interface OutMessage {
  topic: string;
  key?: Buffer;
  value: Buffer;
  timestamp: bigint;
}

function toMessage(topic: string, event: JsonObject, nowMs: number): OutMessage {
  const key = messageKey(event);
  const message: OutMessage = { topic, value: Buffer.from(JSON.stringify(event)), timestamp: BigInt(nowMs) };
  if (key) message.key = Buffer.from(JSON.stringify(key));
  return message;
}

/**
 * Takes the lane's due events (time-proportional, fractional remainder carried to the next tick),
 * each followed by the events derived from it, which go to the same data centre as their source.
 */
function drainLane(lane: Lane, elapsedS: number, now: Date, out: OutMessage[]): void {
  lane.owed += lane.rate * elapsedS;
  const count = Math.floor(lane.owed);
  lane.owed -= count;
  const derive = DERIVATIONS[lane.stream.name];
  for (let i = 0; i < count; i++) {
    const recorded = lane.events[lane.next];
    if (recorded === undefined) return;
    const n = lane.sent++;
    const event = freshen(recorded, now, lane.pass);
    out.push(toMessage(pickTopic(lane.stream.topics, n), event, now.getTime()));
    for (const derived of derive?.(event) ?? []) {
      const target = lane.streams.get(derived.stream);
      if (target && target.topics.length > 0) out.push(toMessage(pickTopic(target.topics, n), derived.event, now.getTime()));
    }
    if (++lane.next >= lane.events.length) {
      lane.next = 0;
      lane.pass++;
    }
  }
}

/**
 * Produces the recorded events into Kafka, looping, at realistic rates, with fresh ids and times,
 * plus canary events. Errors never escape: a failed batch is logged and dropped, and the next tick
 * produces fresh events (a replayed batch would carry stale times).
 */
export async function startDemoReplay(opts: DemoReplayOptions): Promise<DemoReplay> {
  const ratePerSecond = opts.ratePerSecond ?? DEFAULT_RECENTCHANGE_RATE;
  const canaryIntervalMs = opts.canaryIntervalMs ?? 60_000;
  const tickMs = opts.tickMs ?? 100;
  const sources = opts.sources ?? readDemoSources();
  const groups = groupByStream(sources, opts.streams);
  const byName = new Map(opts.streams.map((s) => [s.name, s]));
  const lanes: Lane[] = [];
  for (const stream of opts.streams) {
    const events = groups.get(stream.name);
    if (!events || events.length === 0 || stream.topics.length === 0) continue;
    // Each lane owes its first event at once, so even the once-a-minute test stream shows one at start.
    lanes.push({ stream, streams: byName, events, rate: streamRate(stream.name, ratePerSecond), next: 0, pass: 0, owed: 1, sent: 0 });
  }
  const canaryStreams = opts.streams.filter((s) => s.topics.length > 0);
  const examples = new Map(canaryStreams.map((s) => [s.name, schemaExampleFor(s, sources.schemaExamples, opts.streams)]));

  if (opts.createTopics ?? true) {
    const topics = [...new Set(canaryStreams.flatMap((s) => s.topics))];
    await ensureTopics(opts.brokers, topics.map((name) => ({ name, partitions: 1 })));
  }

  // Not idempotent: @platformatic/kafka 2.12's idempotent send never settles for a missing topic,
  // which would stall the replay. ensureTopics waits for leaders, so retries (and doubles) are rare.
  const producer = new Producer({ clientId: 'eventstreams-demo-replay', bootstrapBrokers: opts.brokers });
  let produced = 0;
  let failures = 0;
  let lastErrorLogMs = 0;
  let lastTickMs = Date.now();
  let nextCanaryMs = canaryIntervalMs > 0 ? lastTickMs : Number.POSITIVE_INFINITY;
  let inFlight: Promise<void> | undefined;
  let stopped = false;

  const collect = (nowMs: number): OutMessage[] => {
    const now = new Date(nowMs);
    const elapsedS = Math.min((nowMs - lastTickMs) / 1000, MAX_CATCH_UP_S);
    lastTickMs = nowMs;
    const out: OutMessage[] = [];
    if (nowMs >= nextCanaryMs) {
      nextCanaryMs = nowMs + canaryIntervalMs;
      for (const s of canaryStreams) {
        for (const topic of s.topics) out.push(toMessage(topic, canaryEvent(s, now, examples.get(s.name)), nowMs));
      }
    }
    for (const lane of lanes) drainLane(lane, elapsedS, now, out);
    return out;
  };

  const send = async (messages: OutMessage[]): Promise<void> => {
    if (messages.length === 0) return;
    try {
      await producer.send({ messages });
      produced += messages.length;
      if (failures > 0) {
        opts.log?.info({ failedBatches: failures }, 'demo replay: producing again');
        failures = 0;
      }
    } catch (error) {
      failures++;
      const nowMs = Date.now();
      if (nowMs - lastErrorLogMs >= ERROR_LOG_INTERVAL_MS) {
        lastErrorLogMs = nowMs;
        opts.log?.warn({ err: error, failedBatches: failures, dropped: messages.length }, 'demo replay: produce failed, retrying next tick');
      }
    }
  };

  const tick = (): void => {
    // One batch at a time: while the broker is slow, time keeps accruing (capped) instead.
    if (stopped || inFlight) return;
    inFlight = send(collect(Date.now())).finally(() => {
      inFlight = undefined;
    });
  };

  // The first batch (the first canaries) also sets up the producer; the time it takes is not
  // owed as events, so the replay starts smoothly instead of with a burst.
  await send(collect(Date.now()));
  lastTickMs = Date.now();
  const timer = setInterval(tick, tickMs);
  opts.log?.info(
    { streams: lanes.map((l) => ({ stream: l.stream.name, perSecond: Number(l.rate.toFixed(3)), recorded: l.events.length })), canaryIntervalMs },
    'demo replay started',
  );

  return {
    produced: () => produced,
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await inFlight;
      await producer.close();
    },
  };
}
