/**
 * Filter-stage benchmark: events/s through the filter stage of one live partition for 1, 100 and
 * 10,000 clients with distinct filters, in-process, no Kafka.
 *
 *   node bench/filter-stage.ts [--clients 1,100,10000] [--batches 1,100] [--repeats 3]
 *                              [--evaluations 600000]
 *
 * Events: the 300 recorded recentchange events, prepared as the shared reader prepares Kafka
 * messages (`prepareEvent`). Filters: `mixedQueries` (distinct, a realistic mix of indexable and
 * unindexable ones), through the service's `Selections` and `LiveSelections` (parse, schema check, compile, share).
 * Designs, measured in turns on the same events in the same process:
 *   shared-indexed    a PartitionFeed with a live cursor per client, subscriber index on (the service)
 *   shared-unindexed  the same, every client offered every event (index hints hidden)
 *   per-client-parse  every client JSON.parses and tests every event (a reader per connection)
 * Every figure is the median of --repeats timed runs of at least --evaluations client-evaluations;
 * ratios between designs of the same N are the result. Figures only, no assertions.
 */
import { Metrics } from '../src/metrics/registry.ts';
import { RedactedPages } from '../src/sanitize/redacted-pages.ts';
import { Sanitizer } from '../src/sanitize/sanitizer.ts';
import { SuppressionIndex } from '../src/sanitize/suppression-index.ts';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SchemaStore } from '../src/catalogue/schemas.ts';
import { prepareEvent, type PreparedEvent } from '../src/event/prepared-event.ts';
import { createLogger } from '../src/log.ts';
import type { EventSelection } from '../src/selection/event-selection.ts';
import { LiveSelections } from '../src/selection/live-selections.ts';
import { Selections } from '../src/selection/selections.ts';
import { PerClientParseStage, SharedFeedStage, STAGE_TOPIC, type FilterStage } from './lib/filter-stages.ts';
import { mixedQueries } from './lib/filter-queries.ts';
import { RECENTCHANGE_STREAM, SCHEMA_BASE, compileQuery, recentchangeScope } from './lib/recentchange-filters.ts';
import { readRecordedEvents } from './lib/recorded-events.ts';
import { machineInfo, table, writeResults, type Cell } from './lib/report.ts';
import { log, num, numList, options, runMain } from './lib/run.ts';
import { ratio, round } from './lib/stats.ts';

const opts = options('node bench/filter-stage.ts [options]', {
  clients: { default: '1,100,10000', help: 'distinct filters (one client each), comma-separated' },
  batches: { default: '1,100', help: 'events per feed batch (fetch) for the shared designs, comma-separated' },
  repeats: { default: '3', help: 'timed runs per design (the median is reported)' },
  evaluations: { default: '600000', help: 'client-evaluations (events x clients) per timed run, at least one pass over the events' },
  name: { default: 'filter-stage', help: 'results file name under bench/results/' },
});
const clientCounts = numList(opts.clients, 'clients');
const batchSizes = numList(opts.batches, 'batches').map((b) => Math.max(1, b));
const repeats = Math.max(1, num(opts.repeats, 'repeats'));
const evaluations = num(opts.evaluations, 'evaluations');

// A forced GC before each heap reading makes retained memory comparable between designs.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;
const heapMiB = (): number => process.memoryUsage().heapUsed / 2 ** 20;

interface Design {
  name: string;
  batch: number | null;
  stage: FilterStage;
  setupHeapMiB: number;
  runs: { eventsPerSec: number; eventsPerCpuSec: number; cpuShare: number; heapGrowthMiB: number }[];
  events: number;
}

interface Row {
  clients: number;
  design: string;
  batch: number | null;
  indexedClients: number;
  eventsPerSec: number | null;
  /** Per second of this thread's CPU: less disturbed by other load on the machine than wall time. */
  eventsPerCpuSec: number | null;
  evaluationsPerSec: number | null;
  matchedFraction: number | null;
  setupHeapMiB: number | null;
  heapGrowthMiB: number | null;
  cpuShare: number | null;
  runs: Design['runs'];
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? null;
}

/** The recorded events as the shared reader prepares them (offsets are set per pass). */
function preparedEvents(): PreparedEvent[] {
  return readRecordedEvents().map((event, offset) =>
    prepareEvent({ topic: STAGE_TOPIC, partition: 0, offset, timestamp: Date.parse(String((event.meta as { dt?: string }).dt)), key: null, value: Buffer.from(JSON.stringify(event)) }, 4 << 20),
  );
}

/**
 * Pass `pass` over the events: fresh objects (nothing parsed yet, as a new fetch) with offsets
 * continuing the previous pass, cut into batches.
 */
function passBatches(base: readonly PreparedEvent[], pass: number, batch: number): PreparedEvent[][] {
  const events = base.map(({ topic, partition, offset, timestamp, frame, canary }): PreparedEvent => ({ topic, partition, offset: pass * base.length + offset, timestamp, frame, canary }));
  const out: PreparedEvent[][] = [];
  for (let i = 0; i < events.length; i += batch) out.push(events.slice(i, i + batch));
  return out;
}

class Runner {
  readonly #base: readonly PreparedEvent[];
  #pass = 0;

  constructor(base: readonly PreparedEvent[]) {
    this.#base = base;
  }

  /** Builds a design's stage, recording the heap its clients retain. */
  build(name: string, batch: number | null, make: () => FilterStage): Design {
    collect();
    const before = heapMiB();
    const stage = make();
    collect();
    return { name, batch, stage, setupHeapMiB: heapMiB() - before, runs: [], events: 0 };
  }

  /**
   * One timed run of `passes` passes (`timed` false: a warm-up for the JIT); the loop turns
   * between passes (as between fetches) are not timed.
   */
  async run(design: Design, passes: number, timed = true): Promise<void> {
    collect();
    const heapBefore = heapMiB();
    let ms = 0;
    let cpuUs = 0;
    for (let p = 0; p < passes; p++) {
      const batches = passBatches(this.#base, this.#pass++, design.batch ?? this.#base.length);
      // This thread's CPU only: GC helper threads would count in process.cpuUsage().
      const cpu0 = process.threadCpuUsage();
      const t0 = performance.now();
      design.stage.feed(batches);
      ms += performance.now() - t0;
      const cpu = process.threadCpuUsage(cpu0);
      cpuUs += cpu.user + cpu.system;
      // Parsed events are held weakly; a turn of the loop lets them go, as in the service.
      await yieldToLoop();
    }
    design.events += passes * this.#base.length;
    collect();
    const events = passes * this.#base.length;
    if (timed) design.runs.push({ eventsPerSec: (events * 1000) / ms, eventsPerCpuSec: (events * 1e6) / cpuUs, cpuShare: cpuUs / 1000 / ms, heapGrowthMiB: heapMiB() - heapBefore });
  }
}

function row(n: number, design: Design, indexedClients: number): Row {
  const eventsPerSec = median(design.runs.map((r) => r.eventsPerSec));
  return {
    clients: n,
    design: design.name,
    batch: design.batch,
    indexedClients: design.name === 'shared-indexed' ? indexedClients : 0,
    eventsPerSec: round(eventsPerSec, 0),
    eventsPerCpuSec: round(median(design.runs.map((r) => r.eventsPerCpuSec)), 0),
    evaluationsPerSec: eventsPerSec === null ? null : round(eventsPerSec * n, 0),
    matchedFraction: design.events > 0 ? round(design.stage.delivered / (design.events * n), 4) : null,
    setupHeapMiB: round(design.setupHeapMiB, 1),
    heapGrowthMiB: round(median(design.runs.map((r) => r.heapGrowthMiB)), 1),
    cpuShare: round(median(design.runs.map((r) => r.cpuShare)), 2),
    runs: design.runs.map((r) => ({ eventsPerSec: Math.round(r.eventsPerSec), eventsPerCpuSec: Math.round(r.eventsPerCpuSec), cpuShare: round(r.cpuShare, 2) ?? 0, heapGrowthMiB: round(r.heapGrowthMiB, 1) ?? 0 })),
  };
}

async function measure(n: number, runner: Runner, base: readonly PreparedEvent[], selectionsFor: (queries: string[]) => Promise<EventSelection[]>): Promise<Row[]> {
  const recorded = readRecordedEvents();
  const queries = mixedQueries(recorded, n);
  if (new Set(queries).size !== n) throw new Error(`${n} queries are not distinct`);
  const selections = await selectionsFor(queries);
  if (new Set(selections).size !== n) throw new Error(`${n} filters share selections`);
  const scope = recentchangeScope();
  const filters = queries.map((q) => compileQuery(q, scope));
  const indexedClients = selections.filter((s) => s.index !== undefined).length;
  const designs: Design[] = [];
  for (const batch of batchSizes) {
    designs.push(runner.build('shared-indexed', batch, () => new SharedFeedStage(selections, true)));
    designs.push(runner.build('shared-unindexed', batch, () => new SharedFeedStage(selections, false)));
  }
  designs.push(runner.build('per-client-parse', null, () => new PerClientParseStage(filters)));
  const passes = Math.max(1, Math.ceil(evaluations / (base.length * n)));
  log(`${n} clients (${indexedClients} indexed): ${repeats} x ${passes} passes over ${base.length} events per design`);
  for (const design of designs) await runner.run(design, Math.min(passes, Math.ceil(passes / 10)), false);
  // Designs take turns within each repeat, so a burst of load from elsewhere hits all of them.
  for (let r = 0; r < repeats; r++) {
    for (const design of designs) {
      await runner.run(design, passes);
      const last = design.runs[design.runs.length - 1];
      log(`  ${n} ${design.name}${design.batch === null ? '' : ` batch ${design.batch}`}: ${Math.round(last?.eventsPerSec ?? 0)} events/s (cpu share ${round(last?.cpuShare, 2)})`);
    }
  }
  return designs.map((d) => row(n, d, indexedClients));
}

function markdown(rows: Row[], info: ReturnType<typeof machineInfo>): string {
  const main = table(
    ['clients (distinct filters)', 'design', 'batch', 'indexed clients', 'events/s', 'events/CPU-s', 'client-evaluations/s', 'matched fraction', 'heap for clients MiB', 'heap growth per run MiB', 'cpu share'],
    rows.map((r): Cell[] => [r.clients, r.design, r.batch, r.indexedClients, r.eventsPerSec, r.eventsPerCpuSec, r.evaluationsPerSec, r.matchedFraction, r.setupHeapMiB, r.heapGrowthMiB, r.cpuShare]),
  );
  const ratioRows: Cell[][] = [];
  for (const n of clientCounts) {
    const naive = rows.find((r) => r.clients === n && r.design === 'per-client-parse');
    for (const batch of batchSizes) {
      const indexed = rows.find((r) => r.clients === n && r.batch === batch && r.design === 'shared-indexed');
      const unindexed = rows.find((r) => r.clients === n && r.batch === batch && r.design === 'shared-unindexed');
      ratioRows.push([
        n,
        batch,
        ratio(indexed?.eventsPerSec, naive?.eventsPerSec),
        ratio(indexed?.eventsPerSec, unindexed?.eventsPerSec),
        ratio(unindexed?.eventsPerSec, naive?.eventsPerSec),
        ratio(indexed?.eventsPerCpuSec, naive?.eventsPerCpuSec),
        ratio(indexed?.eventsPerCpuSec, unindexed?.eventsPerCpuSec),
      ]);
    }
  }
  const ratios = table(['clients', 'batch', '(a) shared-indexed / (c) per-client-parse', '(a) shared-indexed / (b) shared-unindexed', '(b) shared-unindexed / (c) per-client-parse', '(a) / (c) per CPU-s', '(a) / (b) per CPU-s'], ratioRows);
  return (
    `## filter-stage: events/s through the filter stage, distinct filters\n\n` +
    `${info.date}, node ${info.node}, ${info.cores} cores (${info.cpuModel}), commit ${info.gitCommit ?? '?'}${info.gitDirty === true ? ' + uncommitted src changes' : ''}. ` +
    `In-process, one live partition, the 300 recorded recentchange events; medians of ${repeats} runs of >= ${evaluations.toLocaleString('en-US')} client-evaluations. ` +
    `"heap for clients" = retained heap of the design's clients after a GC; "heap growth" = retained after a run minus before (after GCs: ~0 = nothing kept). "cpu share" = main-thread CPU / wall time while timed (below ~0.95: the machine took time from the run).\n\n` +
    `${main}\n\nRatios of events/s at equal N (above 1: the first design is faster):\n\n${ratios}\n`
  );
}

runMain('filter-stage', 3_600_000, async () => {
  const info = machineInfo();
  const base = preparedEvents();
  const log = createLogger('warn', false);
  // Sanitization is measured by bench/sanitize.ts; here its per-send check finds nothing to do.
  const sanitizer = new Sanitizer(new SuppressionIndex(1), new RedactedPages({}), () => undefined, new Metrics(), log);
  // The stage is measured here, not the cost limits (bench/filter-cost.ts): nothing is refused.
  const selections = new Selections(new SchemaStore([SCHEMA_BASE]), sanitizer, Infinity, log);
  const live = new LiveSelections(Infinity);
  const selectionsFor = async (queries: string[]): Promise<EventSelection[]> => {
    const out: EventSelection[] = [];
    for (const query of queries) {
      const checked = await selections.check([RECENTCHANGE_STREAM], query);
      if (!checked.ok) throw new Error(`${query}: ${checked.problem.message}`);
      const acquired = live.acquire(checked.candidate);
      if (!acquired.ok) throw new Error(`${query}: over the filter budget`);
      out.push(acquired.lease.selection);
    }
    return out;
  };
  const runner = new Runner(base);
  const rows: Row[] = [];
  for (const n of clientCounts) rows.push(...(await measure(n, runner, base, selectionsFor)));
  writeResults(opts.name, { benchmark: 'filter-stage', args: { clients: clientCounts, batches: batchSizes, repeats, evaluations }, machine: info, rows }, markdown(rows, info));
});
