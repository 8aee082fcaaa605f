/**
 * No request reads a topic outside the streams it named, whatever its `Last-Event-ID` says: a
 * property over generated ids (topics of other streams and their `topics_allowed`, Kafka's
 * internal topics, names with NUL, spaces, case or unicode changes, odd partitions and offsets,
 * strings and objects) against the real service and broker.
 */
import fc from 'fast-check';
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.ts';
import { rcEvent } from '../support/events.ts';
import { produceJson, testBrokers, uniqueTopic } from '../support/kafka.ts';
import { startTestService } from '../support/service.ts';
import { openRaw } from '../support/sse.ts';

const SEED = Number(process.env.ISOLATION_SEED ?? randomInt(2 ** 31));
const EVENTS_PER_PARTITION = 3;

interface Stream {
  names: string[];
  topics: string[];
  allowed: string[];
}

let service: RunningService;
let streams: Stream[];
const partitions = new Map<string, number>();

beforeAll(async () => {
  const make = async (prefix: string, count: number) => {
    const name = await uniqueTopic(prefix, count);
    partitions.set(name, count);
    return name;
  };
  const [a1, a2, aAllowed, b1, bAllowed, c1] = await Promise.all([
    make('eqiad.iso.a', 2),
    make('codfw.iso.a', 1),
    make('eqiad.iso.a-allowed', 1),
    make('eqiad.iso.b', 2),
    make('eqiad.iso.b-allowed', 1),
    make('eqiad.iso.c', 1),
  ]);
  streams = [
    { names: ['iso.a', 'a'], topics: [a1 as string, a2 as string], allowed: [aAllowed as string] },
    { names: ['iso.b', 'b'], topics: [b1 as string], allowed: [bAllowed as string] },
    { names: ['iso.c', 'c'], topics: [c1 as string], allowed: [] },
  ];
  for (const [topic, count] of partitions) {
    const messages = Array.from({ length: count * EVENTS_PER_PARTITION }, (_, i) => ({ partition: i % count, value: rcEvent(i), timestamp: Date.now() - 60_000 + i }));
    await produceJson(testBrokers(), topic, messages);
  }
  service = await startTestService(
    Object.fromEntries(streams.map((s) => [s.names[0], { topics: s.topics, topics_allowed: s.allowed, stream_aliases: [s.names[1]] }])),
    { heartbeat_interval: 0 },
  );
  process.stdout.write(`isolation: seed ${SEED} (ISOLATION_SEED=${SEED} repeats this run)\n`);
}, 120_000);

afterAll(async () => {
  await service?.stop();
});

type Entry = string | Record<string, unknown>;

const allTopics = () => streams.flatMap((s) => [...s.topics, ...s.allowed]);

/** A well-formed entry for one of the catalogue's topics (allowed or not for the request). */
const wellFormed = (): fc.Arbitrary<Entry> =>
  fc.constantFrom(...allTopics()).chain((topic) =>
    fc.oneof(
      fc.constant(topic),
      fc.record({ topic: fc.constant(topic), partition: fc.integer({ min: 0, max: 3 }), offset: fc.integer({ min: -2, max: EVENTS_PER_PARTITION + 2 }) }),
      fc.record({ topic: fc.constant(topic), partition: fc.integer({ min: 0, max: 3 }), timestamp: fc.constantFrom(0, Date.now() - 60_000, Date.now() + 3_600_000) }),
    ),
  );

/** A topic name that is none of the catalogue's, though it may look like one. */
const foreignTopic = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom('__consumer_offsets', '__transaction_state', '_schemas', 'eqiad.mediawiki.recentchange', ''),
    fc.constantFrom(...allTopics()).chain((t) =>
      fc.constantFrom(t.toUpperCase(), `${t}\u0000`, ` ${t}`, `${t} `, `${t}\n`, `${t}\u200b`, `${t}.`, t.replace('.', '\u2024'), t.slice(0, -1), `${t}/0`, `${t},${t}`),
    ),
    fc.string({ unit: 'binary', maxLength: 20 }),
  );

/** An entry that must be refused: a foreign topic, or an allowed-looking one with a bad position. */
const hostile = (): fc.Arbitrary<Entry> =>
  fc.oneof(
    foreignTopic(),
    fc.record({ topic: foreignTopic(), partition: fc.nat(3), offset: fc.integer({ min: -2, max: 5 }) }),
    fc.record({
      topic: fc.constantFrom(...allTopics()),
      partition: fc.constantFrom(-1, 0.5, 2 ** 31, '0', null, [0]),
      offset: fc.integer({ min: -2, max: 5 }),
    }),
    fc.record({ topic: fc.constantFrom(...allTopics()), partition: fc.nat(1), offset: fc.constantFrom(-3, 1.5, '1', 2 ** 64, null, {}) }),
    fc.record({ topic: fc.constantFrom(...allTopics()).map((t) => ({ name: t })), partition: fc.nat(1), offset: fc.nat(2) }),
  );

const keyOf = (entry: Entry) => (typeof entry === 'string' ? entry : `${JSON.stringify(entry['topic'])}/${JSON.stringify(entry['partition'])}`);

const request = () =>
  fc.record({
    streams: fc.uniqueArray(fc.nat(streams.length - 1), { minLength: 1, maxLength: streams.length }).chain((indexes) =>
      fc.tuple(fc.constant(indexes), fc.tuple(...indexes.map((i) => fc.constantFrom(...(streams[i]?.names ?? []))))),
    ),
    entries: fc.uniqueArray(fc.oneof({ weight: 3, arbitrary: wellFormed() }, { weight: 1, arbitrary: hostile() }), { minLength: 1, maxLength: 4, selector: keyOf }),
  });

/** The same JSON with every non-ASCII character escaped, as a header value must be. */
const asciiJson = (value: unknown) => JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function isWellFormedFor(entry: Entry, allowed: Set<string>): boolean | 'foreign' {
  const topic = typeof entry === 'string' ? entry : entry['topic'];
  if (typeof topic !== 'string' || !allTopics().includes(topic)) return 'foreign';
  if (!allowed.has(topic)) return 'foreign';
  if (typeof entry === 'string') return true;
  const { partition, offset, timestamp } = entry;
  const int = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
  return int(partition, 0, 2 ** 31 - 1) && (offset === undefined ? int(timestamp, 0, 8.64e15) : int(offset, -2, Number.MAX_SAFE_INTEGER));
}

describe(`Last-Event-ID cannot reach other topics (seed ${SEED})`, () => {
  it('every 200 delivers only events and ids of the named streams; every other id is refused with 400/404', async () => {
    const outcomes = { streamed: 0, events: 0, notAllowed: 0, invalid: 0 };
    await fc.assert(
      fc.asyncProperty(request(), async ({ streams: [indexes, names], entries }) => {
        const named = indexes.map((i) => streams[i] as Stream);
        const allowed = new Set(named.flatMap((s) => [...s.topics, ...s.allowed]));
        const verdicts = entries.map((e) => isWellFormedFor(e, allowed));
        const stream = await openRaw(`${service.url}/v2/stream/${names.join(',')}`, { 'last-event-id': asciiJson(entries) });
        try {
          if (stream.status !== 200) {
            await stream.ended;
            const problem = JSON.parse(stream.text()) as { type: string };
            expect(verdicts.every((v) => v === true), `refused ${stream.status} ${problem.type}`).toBe(false);
            expect([`${stream.status} ${problem.type}`]).toEqual([expect.stringMatching(/^(404 topic_not_allowed|400 invalid_last_event_id)$/)]);
            if (problem.type === 'topic_not_allowed') outcomes.notAllowed++;
            else outcomes.invalid++;
            return;
          }
          // Served: it had to be an id of the named streams only.
          expect(verdicts).not.toContain('foreign');
          const starts = JSON.parse(String(stream.headers['eventstreams-start-positions'])) as { topic: string; partition: number; offset: number }[];
          for (const start of starts) expect(allowed.has(start.topic), start.topic).toBe(true);
          const expected = starts.reduce((n, s) => n + Math.max(0, EVENTS_PER_PARTITION - s.offset), 0);
          await stream.until((s) => s.messages().length >= expected && s.text().startsWith(':ok'));
          const messages = stream.messages();
          expect(messages).toHaveLength(expected);
          for (const message of messages) {
            expect(allowed.has(String((message.data['meta'] as { topic: string }).topic))).toBe(true);
            for (const position of message.id as { topic: string }[]) expect(allowed.has(position.topic), position.topic).toBe(true);
          }
          outcomes.streamed++;
          outcomes.events += messages.length;
        } finally {
          stream.close();
        }
      }),
      { seed: SEED, numRuns: 250, endOnFailure: true },
    );
    process.stdout.write(`isolation: ${JSON.stringify(outcomes)}\n`);
    // The generator must exercise both sides of the property.
    expect(outcomes.streamed).toBeGreaterThan(20);
    expect(outcomes.events).toBeGreaterThan(0);
    expect(outcomes.notAllowed).toBeGreaterThan(20);
    expect(outcomes.invalid).toBeGreaterThan(5);
  }, 300_000);
});
