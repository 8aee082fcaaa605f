/**
 * Sanitization costs, in process (no Kafka):
 *
 *   node --expose-gc bench/sanitize.ts [--entries 10000,100000,1000000] [--events 200000]
 *
 * 1. Memory of the suppression index: heap growth per entry after inserting N (wiki, revision)
 *    entries with realistic keys (900 wiki names, revision ids around 1.2e9), measured after a GC.
 * 2. Cost per event: the 300 real recentchange events (as they are in Kafka: without the
 *    meta.topic/partition/offset the service adds) run through `prepareEvent` alone (the
 *    parse-free splice), through `prepareEvent` + `Sanitizer.prepare` parsing every event (the path
 *    before the key watch), and the service's path (`prepareSanitized`: the splice notes the
 *    watched keys, the sanitizer parses only events that can need it), with an index of 100,000
 *    suppressed revisions, 1 % of events hit (those are parsed and scrubbed on every path). In
 *    batches of 500 with a turn of the event loop between two (untimed), as reads come, so parsed
 *    events die as in the service. All in the same run, taking turns: the ratios are the figures,
 *    the absolute rates depend on the machine.
 * Results: bench/results/sanitize.json and .md.
 */
import pino from 'pino';
import { FrameArena } from '../src/event/frame.ts';
import { prepareEvent } from '../src/event/prepared-event.ts';
import { prepareSanitized } from '../src/fanout/source.ts';
import { Metrics } from '../src/metrics/registry.ts';
import { COMMENT, USER } from '../src/sanitize/hidden.ts';
import { RedactedPages } from '../src/sanitize/redacted-pages.ts';
import { Sanitizer } from '../src/sanitize/sanitizer.ts';
import { SuppressionIndex } from '../src/sanitize/suppression-index.ts';
import { machineInfo, table, writeResults } from './lib/report.ts';
import { num, numList, options } from './lib/run.ts';
import { readProducedEvents } from './lib/recorded-events.ts';

const opts = options('node --expose-gc bench/sanitize.ts [options]', {
  entries: { default: '10000,100000,1000000', help: 'index sizes to measure, comma-separated' },
  events: { default: '200000', help: 'events per throughput measurement' },
});
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const wikis = Array.from({ length: 900 }, (_, i) => `wiki${i.toString(36)}wiki`);

function indexMemory(entries: number): { entries: number; heapMiB: number; bytesPerEntry: number } {
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const index = new SuppressionIndex(entries);
  for (let i = 0; i < entries; i++) index.set(wikis[i % wikis.length] as string, 1_200_000_000 + i * 7, USER);
  gc?.();
  const after = process.memoryUsage().heapUsed;
  if (index.size !== entries) throw new Error('index lost entries');
  return { entries, heapMiB: (after - before) / 2 ** 20, bytesPerEntry: (after - before) / entries };
}

// As in Kafka: the recorded Kafka position is the service's to add (an event that has one is parsed whatever the path).
const events = readProducedEvents() as { wiki: string; revision?: { new?: number } }[];
const values = events.map((e) => Buffer.from(JSON.stringify(e)));

const BATCH = 500;
/** Events per second of `run`, timed over batches of 500 with an (untimed) turn of the event loop between two. */
async function rate(count: number, run: (i: number) => void): Promise<number> {
  for (let i = 0; i < 2000; i++) run(i); // warm-up
  await new Promise((resolve) => setImmediate(resolve));
  let ns = 0;
  for (let from = 0; from < count; from += BATCH) {
    const started = process.hrtime.bigint();
    for (let i = from; i < from + BATCH; i++) run(i);
    ns += Number(process.hrtime.bigint() - started);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return count / (ns / 1e9);
}

const message = (i: number) => ({ topic: 't', partition: 0, offset: i, timestamp: i, key: null, value: values[i % values.length] as Buffer });

const info = machineInfo();
const memory = numList(opts.entries, 'entries').map(indexMemory);
const count = num(opts.events, 'events');
const index = new SuppressionIndex(1_000_000);
for (let i = 0; i < 100_000; i++) index.set(wikis[i % wikis.length] as string, 1_200_000_000 + i, USER | COMMENT);
// 3 of the 300 real events refer to suppressed revisions.
for (const e of events.slice(0, 3)) if (e.revision?.new !== undefined) index.set(e.wiki, e.revision.new, USER | COMMENT);
const policy = { stream: 'rc', removeFields: [] };
const metrics = new Metrics();
const silent = pino({ level: 'silent' });
const sanitizer = new Sanitizer(index, new RedactedPages({}), () => policy, metrics, silent);
const arena = new FrameArena();
const samples = { splice: [] as number[], parsed: [] as number[], watched: [] as number[] };
for (let round = 0; round < 5; round++) {
  samples.splice.push(await rate(count, (i) => prepareEvent(message(i), 1e7)));
  samples.parsed.push(await rate(count, (i) => sanitizer.prepare(prepareEvent(message(i), 1e7))));
  samples.watched.push(await rate(count, (i) => prepareSanitized(message(i), 1e7, sanitizer, metrics, silent, arena.alloc)));
}
// Which of the 300 events the service's path parses: those the index hides something of.
const parsedOnWatchedPath = values.filter((_, i) => prepareSanitized(message(i), 1e7, sanitizer, metrics, silent).parsed !== undefined).length / values.length;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const splice = median(samples.splice);
const parsed = median(samples.parsed);
const watched = median(samples.watched);

const markdown = [
  '## Suppression index memory',
  '',
  table(
    ['entries', 'heap MiB', 'bytes / entry'],
    memory.map((m) => [m.entries, m.heapMiB, Math.round(m.bytesPerEntry)]),
  ),
  '',
  '## Cost per event (300 real recentchange events, 100,000 suppressed revisions, 1 % hit)',
  '',
  `${info.date}, node ${info.node}, commit ${info.gitCommit ?? '?'}${info.gitDirty === true ? ' + uncommitted src changes' : ''}; ${count.toLocaleString('en-US')} events per measurement, 5 rounds taking turns.`,
  '',
  table(
    ['path', 'events/s (median of 5)', 'vs splice only', 'events parsed'],
    [
      ['prepareEvent (splice, no parse)', splice, 1, '0 %'],
      ['prepareEvent + Sanitizer.prepare, parsing every event (before)', parsed, parsed / splice, '100 %'],
      ['prepareSanitized: key watch, parse only what can need it (now)', watched, watched / splice, `${Math.round(1000 * parsedOnWatchedPath) / 10} %`],
    ],
  ),
  '',
  `Now / before: ${Math.round((100 * watched) / parsed) / 100}x the events/s.`,
].join('\n');
writeResults('sanitize', { machine: info, args: opts, memory, throughput: { count, samples, splice, parsed, watched, parsedOnWatchedPath, ratio: watched / splice, parsedRatio: parsed / splice, nowVsBefore: watched / parsed } }, markdown);
