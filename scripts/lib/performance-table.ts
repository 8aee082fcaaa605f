/**
 * The performance table of docs/performance.md, generated from bench/results/*.json so every figure it quotes
 * is one a benchmark wrote, with the commit it ran at. A benchmark missing from bench/results
 * has no row (never a made-up one).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cell, docBlock, withBlock } from './doc-block.ts';
import { repoRoot } from './repo-root.ts';

export const PERFORMANCE_TABLE = docBlock('performance-table');

interface Machine {
  gitCommit: string | null;
  gitDirty?: boolean | null;
  date: string;
}

interface Row {
  benchmark: string;
  result: string;
  ratio: string;
}

type Json = Record<string, unknown>;
/** Results are read loosely: a field a benchmark no longer writes shows as "–", never a crash. */
type Loose = Json & Record<string, never>;

const n = (v: unknown, digits = 0): string => (typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits }) : '–');
/** A fraction as a percentage; `digits` by default only for small ones. */
const pct = (v: unknown, digits?: number): string => (typeof v === 'number' ? `${(100 * v).toFixed(digits ?? (v < 0.1 ? 1 : 0))} %` : '–');
const at = (j: unknown, ...path: (string | number)[]): unknown => path.reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Json)[k] : undefined), j);

/** One extractor per results file: the rows it gives the table. */
/** `other(file)`: another results file of the same directory, when a row compares with it. */
const SOURCES: { file: string; rows: (json: Loose, other: (file: string) => Loose | undefined) => Row[] }[] = [
  {
    file: 'fanout.json',
    rows: (j) => {
      const runs = (at(j, 'runs') as Json[] | undefined) ?? [];
      return runs
        .filter((r) => r.server === 'service' && r.filtered === 'none')
        .map((r) => {
          const v = (key: string) => at(r, 'vsCeiling', key);
          return {
            benchmark: `fan-out, ${n(r.clients)} clients × 100 ev/s, ${String(r.encoding)}`,
            result: `${pct(r.deliveredFraction, 1)} delivered, p50/p99 ${n(at(r, 'window', 'latencyMs', 'p50'))}/${n(at(r, 'window', 'latencyMs', 'p99'))} ms, ${n(r.cpuUsPerEvent, 1)} µs CPU/event, wire ${pct(r.wireRatio)} of identity, ${n(r.rssPerClientKB)} KB/client${typeof r.rssAddedPerClientKB === 'number' ? ` (${n(r.rssAddedPerClientKB)} KB per client added)` : ''}, ${n(r.kafkaFetchPerSec, 1)} Kafka fetches/s; other load on the machine ${n(r.otherLoadPct)} % of a core`,
            ratio: `p99 ${n(v('p99'), 2)}×, CPU/event ${n(v('cpuPerEvent'), 2)}× the ceiling's`,
          };
        });
    },
  },
  {
    file: 'fanout-cpu.json',
    rows: (j, other) => {
      const rows = (at(j, 'rows') as Json[] | undefined) ?? [];
      /** The same clients and coding in another run: cohorts off at the same commit, or an older commit. */
      const compared = (file: string, r: Json, label: (commit: string) => string): string | undefined => {
        const runs = (at(other(file), 'rows') as Json[] | undefined) ?? [];
        const was = runs.find((b) => b.clients === r.clients && b.coding === r.coding);
        if (was === undefined) return undefined;
        const commit = String(at(other(file), 'machine', 'gitCommit'));
        return `${n((r.nsPerEventClient as number) / (was.nsPerEventClient as number), 2)}× the CPU ${label(commit)} (${n(was.nsPerEventClient)} ns, ${n(was.wireBytesPerEvent)} B/event)`;
      };
      return rows.map((r) => ({
        benchmark: `fan-out path's own CPU, ${n(r.clients)} clients × ${n(at(j, 'args', 'rate'))} ev/s, ${String(r.coding)}, no sockets`,
        result: `${n(r.nsPerEventClient)} ns per event × client, ${n(r.cpuPct)} % of a core, at most ${n(r.maxBehindEvents)} events behind, ${n(r.wireBytesPerEvent)} B/event on the wire`,
        ratio: [compared('fanout-cpu-no-cohorts.json', r, (c) => `without cohorts at ${c}`), compared('fanout-cpu-before.json', r, (c) => `of ${c}`)].filter((t) => t !== undefined).join('; '),
      }));
    },
  },
  {
    file: 'replay.json',
    rows: (j) => [
      {
        benchmark: `replay, 1 client, ${n(at(j, 'result', 'receivedEvents'))} events from \`since\``,
        result: `${n(at(j, 'result', 'eventsPerSec'))} events/s, ${n(at(j, 'result', 'gaps'))} gaps, ${n(at(j, 'result', 'duplicates'))} duplicates (target 100,000 events/s); the bare reader of the same range: ${n(at(j, 'ceiling', 'raw', 'eventsPerSec'))} events/s`,
        ratio: `events/s ${n(at(j, 'vsCeiling', 'eventsPerSec'), 2)}×, CPU/event ${n(at(j, 'vsCeiling', 'cpuPerEvent'), 2)}× the bare reader's`,
      },
    ],
  },
  {
    file: 'replay-mixed.json',
    rows: (j) => [
      {
        benchmark: `${n(at(j, 'alone', 'window', 'openClients'))} live clients, then with ${n(at(j, 'replays', 'connect', 'connected'))} concurrent replays`,
        result: `live p99 alone ${n(at(j, 'alone', 'window', 'latencyMs', 'p99'))} ms (target: at most 1.5× with the replays)`,
        ratio: `live p99 ${n(at(j, 'ratios', 'p99'), 2)}× with the replays`,
      },
    ],
  },
  {
    file: 'compression.json',
    rows: (j) => {
      const rows = (at(j, 'rows') as Json[] | undefined) ?? [];
      const find = (batch: number, design: string) => rows.find((r) => r.batch === batch && r.design === design);
      const shared = find(1, 'shared history (service)');
      const own = find(1, 'compressor per connection');
      const alone = find(1, 'deflate per batch');
      const zstd = find(1, 'zstd shared stream (service)');
      const zstdAlone = find(1, 'zstd per batch');
      if (shared === undefined) return [];
      return [
        {
          benchmark: 'compression of real events, 1 event per write',
          result: `shared history ${pct(shared.ofIdentity)} of identity (${n(shared.usPerEvent)} µs/event per group); history-free ${pct(alone?.ofIdentity)}; zstd shared ${pct(zstd?.ofIdentity)} (${n(zstd?.usPerEvent)} µs/event), a frame per write ${pct(zstdAlone?.ofIdentity)}`,
          ratio: `${n((shared.ofIdentity as number) / (own?.ofIdentity as number), 2)}× the bytes of a compressor per connection`,
        },
      ];
    },
  },
  { file: 'memory.json', rows: memoryRows },
  { file: 'memory-load.json', rows: memoryRows },
  {
    file: 'reconnect-storm.json',
    rows: (j) => [
      {
        benchmark: `reconnect storm, ${n(at(j, 'args', 'clients'))} clients over ${n(at(j, 'args', 'windowS'))} s`,
        result: `${n(at(j, 'result', 'storm', 'resumed'))} of ${n(at(j, 'result', 'storm', 'clients'))} resumed${typeof at(j, 'result', 'storm', 'allResumedMs') === 'number' ? `, all in ${n((at(j, 'result', 'storm', 'allResumedMs') as number) / 1000, 1)} s` : ''}; ${n(at(j, 'result', 'check', 'missing'))} missing, ${n(at(j, 'result', 'check', 'duplicates'))} duplicated events`,
        ratio: '',
      },
    ],
  },
  {
    file: 'slow-readers.json',
    rows: (j) => {
      const phases = (at(j, 'result', 'phases') as Json[] | undefined) ?? [];
      const p99 = (phase: string) => at(phases.find((p) => p.phase === phase), 'window', 'latencyMs', 'p99');
      return [
        {
          benchmark: `${n(at(j, 'args', 'slow'))} connections that never read + ${n(at(j, 'args', 'normal'))} normal clients`,
          result: `normal clients' p99 ${n(p99('baseline'))} ms before, ${n(p99('slow'))} ms during; RSS peak ${n(at(j, 'result', 'service', 'rssPeakMiB'))} MiB`,
          ratio: `p99 ${n((p99('slow') as number) / (p99('baseline') as number), 1)}× the baseline window's`,
        },
      ];
    },
  },
  {
    file: 'soak.json',
    rows: (j) => {
      const compare = (at(j, 'result', 'compare') as Json[] | undefined) ?? [];
      const heap = compare.find((c) => c.key === 'heapUsedMiB');
      return [
        {
          benchmark: `soak, ${n(at(j, 'args', 'clients'))} clients churning, ${n(at(j, 'args', 'minutes'))} min`,
          result: `${n(at(j, 'result', 'check', 'missing'))} missing, ${n(at(j, 'result', 'check', 'duplicates'))} duplicated; heap ${n(heap?.baseline, 1)} MiB at start, ${n(heap?.end, 1)} MiB after the clients left`,
          ratio: '',
        },
      ];
    },
  },
];

/** bench/memory.ts: idle clients (1 event/s) or clients under load, by the rate the run used. */
function memoryRows(j: Loose): Row[] {
  const variants = (at(j, 'results') as Json[] | undefined) ?? [];
  const rowsOf = (name: string) => {
    const variant = variants.find((v) => v.variant === name);
    return { points: (at(variant, 'perClient') as Json[] | undefined) ?? [], phases: (at(variant, 'rows') as Json[] | undefined) ?? [] };
  };
  const largest = (points: Json[]) => points.reduce<Json | undefined>((most, p) => (most === undefined || (p.clients as number) > (most.clients as number) ? p : most), undefined);
  const service = rowsOf('default');
  const most = largest(service.points);
  if (most === undefined) return [];
  const rate = at(j, 'args', 'rate') as number;
  const idle = service.phases.find((r) => r.phase === '0 clients' && r.gc === true);
  const kb = (bytes: unknown): string => n((bytes as number) / 1000, 1);
  if (rate <= 1) {
    const bare = largest(rowsOf('bare').points);
    return [
      {
        benchmark: `memory, ${n(most.clients)} idle clients`,
        result: `${kb(most.rssBytes)} KB of RSS per client (target 20 KB); ${n(idle?.rssMiB, 1)} MiB RSS with none; bare Node ${kb(bare?.rssBytes)} KB per connection`,
        ratio: `${n((most.rssBytes as number) / (bare?.rssBytes as number), 2)}× bare Node's RSS per connection`,
      },
    ];
  }
  // Under load the bare server writes every event to every socket on its own and falls behind
  // long before 10,000 clients: it is compared at the largest N it kept (nearly) all connected.
  const bareAt = rowsOf('bare').points.filter((p) => (p.clients as number) >= 0.99 * (p.asked as number));
  const bare = largest(bareAt);
  const serviceThere = service.points.find((p) => p.asked === bare?.asked);
  return [
    {
      benchmark: `memory, ${n(most.clients)} clients reading ${n(rate)} ev/s`,
      result: `${kb(most.rssBytes)} KB of RSS per client after a GC, ${kb(most.rssMinusCacheBytes)} KB without the recent-events cache's growth, ${kb(most.rssAsIsBytes)} KB as is (target 20 KB); ${n(idle?.rssMiB, 1)} MiB RSS with none`,
      ratio: bare === undefined || serviceThere === undefined ? '' : `${n((serviceThere.rssBytes as number) / (bare.rssBytes as number), 2)}× bare Node's RSS per connection after a GC at ${n(bare.clients)} clients (${kb(serviceThere.rssBytes)} vs ${kb(bare.rssBytes)} KB)`,
    },
  ];
}

export function performanceTable(resultsDir = join(repoRoot, 'bench', 'results')): string {
  const lines = ['| benchmark | result | against its ceiling / baseline | commit, date |', '|---|---|---|---|'];
  for (const source of SOURCES) {
    const file = join(resultsDir, source.file);
    if (!existsSync(file)) continue;
    const json = JSON.parse(readFileSync(file, 'utf8')) as Loose;
    const machine = at(json, 'machine') as Machine | undefined;
    const commit = `${machine?.gitCommit ?? '?'}${machine?.gitDirty === true ? ' (dirty)' : ''}, ${machine?.date.slice(0, 10) ?? '?'}`;
    const other = (name: string): Loose | undefined => (existsSync(join(resultsDir, name)) ? (JSON.parse(readFileSync(join(resultsDir, name), 'utf8')) as Loose) : undefined);
    for (const row of source.rows(json, other)) lines.push(`| ${cell(row.benchmark)} | ${cell(row.result)} | ${cell(row.ratio)} | ${commit} ([${source.file.replace('.json', '.md')}](../bench/results/${source.file.replace('.json', '.md')})) |`);
  }
  return lines.join('\n');
}

export function withPerformanceTable(page: string): string {
  return withBlock(page, PERFORMANCE_TABLE, performanceTable());
}
