/**
 * Sanitization costs, in process (no Kafka):
 *
 *   node --expose-gc bench/sanitize.ts [--entries 10000,100000,1000000] [--events 200000]
 *
 * 1. Memory of the suppression index: heap growth per entry after inserting N (wiki, revision)
 *    entries with realistic keys (900 wiki names, revision ids around 1.2e9), measured after a GC.
 * 2. Cost per event: the 300 real recentchange events run through `prepareEvent` alone (the
 *    parse-free splice) and through `prepareEvent` + `Sanitizer.prepare` (parse, rules, re-encode
 *    when something is removed), with an index of 100,000 suppressed revisions, 1 % of events hit.
 *    Both in the same run: the ratio is the figure, the absolute rates depend on the machine.
 * Results: bench/results/sanitize.json and .md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { prepareEvent } from '../src/event/prepared-event.ts';
import { repoRoot } from '../scripts/lib/repo-root.ts';
import { Metrics } from '../src/metrics/registry.ts';
import { COMMENT, USER } from '../src/sanitize/hidden.ts';
import { RedactedPages } from '../src/sanitize/redacted-pages.ts';
import { Sanitizer } from '../src/sanitize/sanitizer.ts';
import { SuppressionIndex } from '../src/sanitize/suppression-index.ts';
import { machineInfo, table, writeResults } from './lib/report.ts';
import { num, numList, options } from './lib/run.ts';

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

const lines = readFileSync(join(repoRoot, 'data/demo/recentchange.2026-08-04.ndjson'), 'utf8').split('\n').filter((l) => l.trim() !== '');
const values = lines.map((l) => Buffer.from(l));
const events = lines.map((l) => JSON.parse(l) as { wiki: string; revision?: { new?: number } });

function rate(count: number, run: (i: number) => void): number {
  for (let i = 0; i < 2000; i++) run(i); // warm-up
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) run(i);
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

const message = (i: number) => ({ topic: 't', partition: 0, offset: i, timestamp: i, key: null, value: values[i % values.length] as Buffer });

const memory = numList(opts.entries, 'entries').map(indexMemory);
const count = num(opts.events, 'events');
const index = new SuppressionIndex(1_000_000);
for (let i = 0; i < 100_000; i++) index.set(wikis[i % wikis.length] as string, 1_200_000_000 + i, USER | COMMENT);
// 3 of the 300 real events refer to suppressed revisions.
for (const e of events.slice(0, 3)) if (e.revision?.new !== undefined) index.set(e.wiki, e.revision.new, USER | COMMENT);
const sanitizer = new Sanitizer(index, new RedactedPages({}), () => ({ stream: 'rc', removeFields: [] }), new Metrics(), pino({ level: 'silent' }));
const samples = { splice: [] as number[], sanitized: [] as number[] };
for (let round = 0; round < 3; round++) {
  samples.splice.push(rate(count, (i) => prepareEvent(message(i), 1e7)));
  samples.sanitized.push(rate(count, (i) => sanitizer.prepare(prepareEvent(message(i), 1e7))));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const splice = median(samples.splice);
const sanitized = median(samples.sanitized);

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
  table(
    ['path', 'events/s (median of 3)', 'vs splice only'],
    [
      ['prepareEvent (splice, no parse)', splice, 1],
      ['prepareEvent + Sanitizer.prepare', sanitized, sanitized / splice],
    ],
  ),
].join('\n');
writeResults('sanitize', { machine: machineInfo(), args: opts, memory, throughput: { count, samples, splice, sanitized, ratio: sanitized / splice } }, markdown);
