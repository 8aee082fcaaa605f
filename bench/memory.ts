/**
 * Memory: what the idle service holds (its baseline) and what one connected, idle client costs.
 *
 *   node bench/memory.ts [--clients 0,1000,5000,10000] [--rate 1] [--settle 20] [--samples 3]
 *                        [--variants default,bare,arena2] [--snapshot-clients 1000] [--catalogue recentchange]
 *
 * Setup: a fresh local Kafka on 127.0.0.1:29392 (.kafka/bench-29392) with the two recentchange
 * topics (1 partition each) and a producer writing `--rate` events/s in total throughout (a quiet
 * live stream); the stream `recentchange` over both topics.
 *
 * For every variant (`default`: the service; `bare`: bench/lib/bare-sse.mjs, a bare `http` server
 * writing the same number of same-size frames, i.e. what Node itself costs per connection;
 * `arena<n>`: the service with MALLOC_ARENA_MAX=n; `semi<n>`: with --max-semi-space-size=n), a
 * fresh process (with `--inspect=127.0.0.1:0`, so the benchmark can force a full GC and read
 * `process.memoryUsage()` and V8's heap statistics in it) and a fresh generator process:
 *
 * 1. *start*: sampled as soon as it serves, then again after a full GC; then `--warmup-clients`
 *    connect, read events for 5 s and leave (shared readers outlive them for the whole run), so
 *    the N = 0 row is a service that has served;
 * 2. for every N of `--clients`, in increasing order: the generator opens connections until N are
 *    connected (`GET /v2/stream/recentchange`, 200 waiting for their response head at a time),
 *    waits until each received bytes of an event, then `--settle` s (events and heartbeats flow);
 *    one sample *as is*, then `--samples` samples each right after a full GC (the median is
 *    reported);
 * 3. *after*: every client leaves; 5 s later, samples after a full GC (readers and caches still
 *    within their idle TTL).
 *
 * A sample: RSS, its anonymous and file-backed parts and where the anonymous part is (main malloc
 * arena, other malloc arenas, the rest: V8 heap pages, code, wasm, stacks) from /proc/<pid>/smaps;
 * heap used/total, external and array buffers (`process.memoryUsage()`), V8's malloced memory;
 * connected clients and recent-events cache bytes from /metrics.
 * Per client = (X_N − X_0) / N after a full GC, X_0 being the N = 0 row of the same service
 * process; also "minus cache": RSS growth without the cache's growth (it fills at `--rate`
 * whatever the clients). Target: at most 20 KB (20,000 bytes) of RSS per client.
 *
 * Then (unless `--snapshot-clients 0`) a separate fresh service (first variant) for heap
 * snapshots, which inflate the process's malloc heap and so never precede a sample above: one of
 * the idle service after start, one with `--snapshot-clients` clients, one after they left.
 * Summarised by bench/lib/heap-snapshot.ts: what the idle heap holds per class and its largest
 * retainers; per client, the classes the clients added (count and bytes per client).
 * Snapshots are written under the system temp directory (path in the log).
 *
 * Results: bench/results/memory.json and .md; figures only, no assertions.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../scripts/lib/repo-root.ts';
import { diffHeaps, summarizeHeap, type ClassDiff, type HeapSummary } from './lib/heap-snapshot.ts';
import { InspectorSession, INSPECT_ARGS } from './lib/inspector-gc.ts';
import { LoadGen } from './lib/loadgen-client.ts';
import { readMemoryMap, readProc, type MemoryMap } from './lib/proc.ts';
import { machineInfo, table, writeResults, type Cell } from './lib/report.ts';
import { log, nodeArgs, num, numList, options, runMain, serviceOptions, sleep, type Cleanup } from './lib/run.ts';
import { metricSum, scrapeMetrics, startServiceChild, type ServiceChild } from './lib/service.ts';
import { RECENTCHANGE_STREAMS, startLiveBench } from './lib/setup.ts';
import { round } from './lib/stats.ts';

const opts = options('node bench/memory.ts [options]', {
  clients: { default: '0,1000,5000,10000', help: 'connected idle clients, comma-separated (0 is always measured first)' },
  rate: { default: '1', help: 'events/s produced in total throughout (a quiet live stream; at 10 events/s, 10,000 clients are 100,000 socket writes/s, beyond a 2-core machine)' },
  settle: { default: '20', help: 'seconds with N clients connected before sampling (at least one heartbeat: the service sends one every 15 s)' },
  samples: { default: '3', help: 'samples after a full GC per N (median reported)' },
  variants: { default: 'default,bare,arena2', help: 'process variants, each a fresh process: default (the service), bare (bench/lib/bare-sse.mjs: Node\'s own floor), arena<n> (the service with MALLOC_ARENA_MAX=n), semi<n> (with --max-semi-space-size=n)' },
  'warmup-clients': { default: '100', help: 'clients that connect, read events for 5 s and leave before the N = 0 row, so it is a service that has served (Kafka connections, shared readers, compiled code) (0: none)' },
  'snapshot-clients': { default: '1000', help: 'clients for the heap snapshot pass (0: no snapshots)' },
  catalogue: { default: 'recentchange', help: 'recentchange: only that stream (as the other benchmarks); full: config/config.yaml\'s catalogue and schemas (the demo/production set)' },
  top: { default: '20', help: 'rows per heap snapshot table' },
  ...serviceOptions('memory', 29392),
});

const counts = [...new Set([0, ...numList(opts.clients, 'clients').map(Math.floor)])].sort((a, b) => a - b);
const rate = num(opts.rate, 'rate');
const settleS = num(opts.settle, 'settle');
const samples = Math.max(1, Math.floor(num(opts.samples, 'samples')));
const snapshotClients = Math.floor(num(opts['snapshot-clients'], 'snapshot-clients'));
const warmupClients = Math.floor(num(opts['warmup-clients'], 'warmup-clients'));
/** Shared readers (and their caches) outlive their last client this long: the whole run, so every row has them. */
const IDLE_READER_TTL_MS = 3_600_000;
const top = Math.max(1, Math.floor(num(opts.top, 'top')));
if (opts.catalogue !== 'recentchange' && opts.catalogue !== 'full') throw new Error(`--catalogue: recentchange or full, not ${opts.catalogue}`);

interface Variant {
  name: string;
  env: Record<string, string>;
  nodeArgs: string[];
  /** bench/lib/bare-sse.mjs instead of the service: Node's own floor per connection. */
  bare?: boolean;
}

function parseVariant(name: string): Variant {
  if (name === 'default') return { name, env: {}, nodeArgs: [] };
  if (name === 'bare') return { name, env: {}, nodeArgs: [], bare: true };
  const arena = /^arena(\d+)$/.exec(name);
  if (arena !== null) return { name, env: { MALLOC_ARENA_MAX: arena[1]! }, nodeArgs: [] };
  const semi = /^semi(\d+)$/.exec(name);
  if (semi !== null) return { name, env: {}, nodeArgs: [`--max-semi-space-size=${semi[1]}`] };
  throw new Error(`--variants: unknown variant ${name} (default, bare, arena<n>, semi<n>)`);
}
const variants = opts.variants.split(',').map((v) => v.trim()).filter((v) => v !== '').map(parseVariant);
if (variants.length === 0) throw new Error('--variants: none given');

const MiB = 2 ** 20;
const STREAM_PATH = '/v2/stream/recentchange';
const BARE_SERVER = fileURLToPath(new URL('./lib/bare-sse.mjs', import.meta.url));
/** About the size of a recorded recentchange event frame with its id line. */
const BARE_FRAME_BYTES = 1600;
/** The target per connected client, in bytes of RSS. */
const TARGET_BYTES = 20_000;

/** What `process.memoryUsage()` and V8 report inside the service. */
interface InsideFigures {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** V8's own malloc'd memory (zone, compiler), and the peak of it. */
  mallocedMemory: number;
  peakMallocedMemory: number;
  /** Code space and code large object space, used bytes. */
  codeBytes: number;
  /** Heap bytes physically committed. */
  totalPhysicalSize: number;
}

const INSIDE_EXPRESSION = `(() => {
  const v8 = process.getBuiltinModule('node:v8');
  const m = process.memoryUsage();
  const h = v8.getHeapStatistics();
  const code = v8.getHeapSpaceStatistics().filter((s) => s.space_name.startsWith('code')).reduce((a, s) => a + s.space_used_size, 0);
  return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers,
    mallocedMemory: h.malloced_memory, peakMallocedMemory: h.peak_malloced_memory, codeBytes: code, totalPhysicalSize: h.total_physical_size };
})()`;

interface Sample {
  phase: string;
  clients: number;
  gc: boolean;
  connected: number | null;
  rssMiB: number | null;
  map: MemoryMap | null;
  inside: InsideFigures | null;
  cacheMiB: number | null;
}

interface Row {
  phase: string;
  /** Clients asked for (N). */
  clients: number;
  connected: number | null;
  gc: boolean;
  rssMiB: number | null;
  rssAnonMiB: number | null;
  rssFileMiB: number | null;
  brkHeapMiB: number | null;
  threadArenas: number | null;
  threadArenasMiB: number | null;
  otherAnonMiB: number | null;
  heapUsedMiB: number | null;
  heapTotalMiB: number | null;
  externalMiB: number | null;
  arrayBuffersMiB: number | null;
  v8MallocedMiB: number | null;
  codeMiB: number | null;
  cacheMiB: number | null;
}

interface PerClient {
  /** N asked for. */
  asked: number;
  /** Clients connected at N. */
  clients: number;
  rssBytes: number | null;
  rssMinusCacheBytes: number | null;
  rssAnonBytes: number | null;
  heapUsedBytes: number | null;
  externalBytes: number | null;
  /** RSS per client without a forced GC (what an operator's graph shows). */
  rssAsIsBytes: number | null;
  heapAsIsBytes: number | null;
  /** RSS and heap per client added since the previous N (after GC): the marginal cost, without one-time costs. */
  marginalRssBytes: number | null;
  marginalHeapBytes: number | null;
  pass: boolean | null;
}

interface VariantResult {
  variant: string;
  env: Record<string, string>;
  nodeArgs: string[];
  rows: Row[];
  perClient: PerClient[];
  connects: { clients: number; connected: number; ms: number; statuses: Record<string, number> }[];
  serviceLog: { levels: Record<string, number>; problems: Record<string, number> };
}

const mib = (bytes: number | null | undefined): number | null => (bytes === null || bytes === undefined ? null : round(bytes / MiB, 1));

function median(values: readonly (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null).sort((a, b) => a - b);
  return v.length === 0 ? null : v[Math.floor(v.length / 2)]!;
}

/** The service's config: recentchange only, or config/config.yaml's catalogue with absolute paths. */
function catalogueConfig(): Record<string, unknown> {
  if (opts.catalogue === 'recentchange') return { streams: RECENTCHANGE_STREAMS };
  const file = join(repoRoot, 'config', 'config.yaml');
  const raw = parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const abs = (p: unknown): unknown => (typeof p === 'string' && !/^[a-z]+:/.test(p) && !isAbsolute(p) ? join(dirname(file), p) : p);
  const out: Record<string, unknown> = {};
  for (const key of ['stream_config_uri', 'stream_config_object_path', 'allowed_streams', 'stream_config_defaults', 'streams', 'schema_base_uris', 'sanitize', 'mediawiki_redacted_pages']) {
    if (raw[key] !== undefined) out[key] = raw[key];
  }
  if (out.stream_config_uri !== undefined) out.stream_config_uri = abs(out.stream_config_uri);
  if (Array.isArray(out.schema_base_uris)) out.schema_base_uris = out.schema_base_uris.map(abs);
  return out;
}

/** bench/lib/bare-sse.mjs as a child, looking like the service to the rest of the benchmark. */
async function startBare(cleanup: Cleanup, label: string, variant: Variant): Promise<ServiceChild> {
  const dir = await mkdtemp(join(tmpdir(), 'eventstreams-bare-'));
  const logFile = join(dir, `${label}.log`);
  const out = createWriteStream(logFile);
  const child = spawn(process.execPath, [...INSPECT_ARGS, ...variant.nodeArgs, BARE_SERVER, String(rate), String(BARE_FRAME_BYTES)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...variant.env },
  });
  if (child.pid === undefined) throw new Error('bare server: no pid');
  let exitInfo: string | null = null;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, sig) => {
      exitInfo = `exit code ${code}, signal ${sig}`;
      resolve();
    }),
  );
  const stop = async (): Promise<string> => {
    if (exitInfo === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    }
    out.end();
    return exitInfo ?? 'exited';
  };
  cleanup.add(`bare server ${child.pid}`, async () => {
    await stop();
  });
  child.stderr!.on('data', (d: Buffer) => out.write(d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bare server: not serving after 20 s (log ${logFile})`)), 20_000);
    void exit.then(() => reject(new Error(`bare server ${exitInfo} (log ${logFile})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /"serving":"([^"]+)"/.exec(line);
      if (m === null) return;
      clearTimeout(timer);
      resolve(m[1]!);
    });
  });
  return { url, port: Number(new URL(url).port), pid: child.pid, logs: { levels: {}, problems: {}, file: logFile }, stop, exited: () => exitInfo };
}

async function startService(cleanup: Cleanup, label: string, brokers: string[], variant: Variant): Promise<{ service: ServiceChild; inspector: InspectorSession }> {
  if (variant.bare === true) {
    const bare = await startBare(cleanup, label, variant);
    // The inspector's line may follow the serving line by a moment.
    await sleep(200);
    const inspector = await InspectorSession.open(bare.logs.file);
    if (inspector === null) throw new Error(`bare server: its inspector is not reachable (log ${bare.logs.file})`);
    cleanup.add(`inspector of ${label}`, async () => inspector.close());
    return { service: bare, inspector };
  }
  const service = await startServiceChild(
    cleanup,
    label,
    { log_level: opts['log-level'], kafka: { brokers }, fanout: { idle_reader_ttl_ms: IDLE_READER_TTL_MS }, ...catalogueConfig() },
    [...INSPECT_ARGS, ...variant.nodeArgs, ...nodeArgs(opts['service-node-args'])],
    60_000,
    variant.env,
  );
  const inspector = await InspectorSession.open(service.logs.file);
  if (inspector === null) throw new Error(`service ${label}: its inspector is not reachable (log ${service.logs.file})`);
  cleanup.add(`inspector of ${label}`, async () => inspector.close());
  return { service, inspector };
}

/** One sample, or an error after 3 minutes (a sample takes well under a second). */
async function sample(service: ServiceChild, inspector: InspectorSession, phase: string, clients: number, gc: boolean): Promise<Sample> {
  let timer: NodeJS.Timeout | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`sample ${phase}: no answer within 3 minutes (MEMORY_DEBUG=1 logs its steps)`)), 180_000);
  });
  try {
    return await Promise.race([takeSample(service, inspector, phase, clients, gc), watchdog]);
  } finally {
    clearTimeout(timer);
  }
}

async function takeSample(service: ServiceChild, inspector: InspectorSession, phase: string, clients: number, gc: boolean): Promise<Sample> {
  const debug = process.env.MEMORY_DEBUG === '1' ? log : () => undefined;
  debug(`sample ${phase}: ${gc ? 'full GC' : 'no GC'}`);
  if (gc) {
    // Twice: the first full GC runs finalizers and weak callbacks whose objects the second frees.
    await inspector.collectGarbage();
    await inspector.collectGarbage();
    await sleep(200);
  }
  debug(`sample ${phase}: evaluate`);
  const inside = await inspector.evaluate<InsideFigures>(INSIDE_EXPRESSION).catch(() => null);
  debug(`sample ${phase}: /proc`);
  const proc = readProc(service.pid);
  const map = readMemoryMap(service.pid);
  debug(`sample ${phase}: /metrics`);
  const m = await scrapeMetrics(service.port);
  debug(`sample ${phase}: done`);
  const cache = metricSum(m, 'eventstreams_cache_bytes');
  return {
    phase,
    clients,
    gc,
    connected: m === null ? null : (metricSum(m, 'eventstreams_connected_clients') ?? 0),
    rssMiB: proc === null ? null : mib(proc.rssBytes),
    map,
    inside,
    cacheMiB: mib(cache),
  };
}

/** One row from samples of the same state: the median of each figure. */
function toRow(list: readonly Sample[]): Row {
  const first = list[0]!;
  const med = (f: (s: Sample) => number | null | undefined): number | null => median(list.map((s) => f(s) ?? null));
  const medMiB = (f: (s: Sample) => number | null | undefined): number | null => mib(med(f));
  return {
    phase: first.phase,
    clients: first.clients,
    connected: med((s) => s.connected),
    gc: first.gc,
    rssMiB: med((s) => s.rssMiB),
    rssAnonMiB: med((s) => s.map?.rssAnonMiB),
    rssFileMiB: med((s) => s.map?.rssFileMiB),
    brkHeapMiB: med((s) => s.map?.brkHeapMiB),
    threadArenas: med((s) => s.map?.threadArenas),
    threadArenasMiB: med((s) => s.map?.threadArenasMiB),
    otherAnonMiB: med((s) => s.map?.otherAnonMiB),
    heapUsedMiB: medMiB((s) => s.inside?.heapUsed),
    heapTotalMiB: medMiB((s) => s.inside?.heapTotal),
    externalMiB: medMiB((s) => s.inside?.external),
    arrayBuffersMiB: medMiB((s) => s.inside?.arrayBuffers),
    v8MallocedMiB: medMiB((s) => s.inside?.mallocedMemory),
    codeMiB: medMiB((s) => s.inside?.codeBytes),
    cacheMiB: med((s) => s.cacheMiB),
  };
}

function perClientOf(base: Row, baseAsIs: Row, row: Row, asIs: Row, previous: Row): PerClient {
  const n = row.connected ?? row.clients;
  const per = (a: number | null, b: number | null): number | null => (a === null || b === null || n === 0 ? null : Math.round(((a - b) * MiB) / n));
  const added = n - (previous.connected ?? previous.clients);
  const marginal = (a: number | null, b: number | null): number | null => (a === null || b === null || added <= 0 ? null : Math.round(((a - b) * MiB) / added));
  const rss = per(row.rssMiB, base.rssMiB);
  const cacheGrowth = row.cacheMiB !== null && base.cacheMiB !== null ? row.cacheMiB - base.cacheMiB : 0;
  return {
    asked: row.clients,
    clients: n,
    rssBytes: rss,
    rssMinusCacheBytes: per(row.rssMiB === null ? null : row.rssMiB - cacheGrowth, base.rssMiB),
    rssAnonBytes: per(row.rssAnonMiB, base.rssAnonMiB),
    heapUsedBytes: per(row.heapUsedMiB, base.heapUsedMiB),
    externalBytes: per(row.externalMiB, base.externalMiB),
    rssAsIsBytes: per(asIs.rssMiB, baseAsIs.rssMiB),
    heapAsIsBytes: per(asIs.heapUsedMiB, baseAsIs.heapUsedMiB),
    marginalRssBytes: previous === base ? null : marginal(row.rssMiB, previous.rssMiB),
    marginalHeapBytes: previous === base ? null : marginal(row.heapUsedMiB, previous.heapUsedMiB),
    pass: rss === null ? null : rss <= TARGET_BYTES,
  };
}

/** Clients that connect, read for 5 s and leave: the service then has what serving creates once. */
async function warmUp(cleanup: Cleanup, service: ServiceChild, label: string): Promise<void> {
  const gen = await LoadGen.start(cleanup, { port: service.port, path: STREAM_PATH, sampleEvery: 100, trackAll: false, reconnectOnDrop: false, reconnectDelayMs: 1000 });
  const c = await gen.request({ type: 'connect', count: warmupClients, maxPending: 200, timeoutMs: 30_000, headers: {} }, 60_000);
  const first = await gen.request({ type: 'wait-first-event', timeoutMs: 30_000 }, 40_000);
  await sleep(5000);
  await gen.stop();
  log(`memory ${label}: warm-up: ${c.connected} clients connected, ${first.withEvent} received events, left`);
}

async function runVariant(cleanup: Cleanup, brokers: string[], variant: Variant): Promise<VariantResult> {
  log(`memory: variant ${variant.name}: a fresh service${Object.keys(variant.env).length > 0 ? ` with ${JSON.stringify(variant.env)}` : ''}${variant.nodeArgs.length > 0 ? ` ${variant.nodeArgs.join(' ')}` : ''}`);
  const { service, inspector } = await startService(cleanup, `memory-${variant.name}`, brokers, variant);
  const rows: Row[] = [];
  const asIsRows = new Map<number, Row>();
  const gcRows = new Map<number, Row>();
  const say = (r: Row): void =>
    log(
      `memory ${variant.name} ${r.phase}${r.gc ? ' (after GC)' : ''}: ${r.connected ?? '?'} connected, RSS ${r.rssMiB} MiB (anon ${r.rssAnonMiB}, file ${r.rssFileMiB}; ` +
        `main arena ${r.brkHeapMiB}, ${r.threadArenas} other arenas ${r.threadArenasMiB}), heap used ${r.heapUsedMiB} / total ${r.heapTotalMiB} MiB, external ${r.externalMiB} MiB, cache ${r.cacheMiB} MiB`,
    );
  const record = (list: Sample[]): Row => {
    const r = toRow(list);
    rows.push(r);
    say(r);
    return r;
  };
  record([await sample(service, inspector, 'start', 0, false)]);
  record([await sample(service, inspector, 'start', 0, true)]);
  if (warmupClients > 0) await warmUp(cleanup, service, variant.name);

  const gen = await LoadGen.start(cleanup, { port: service.port, path: STREAM_PATH, sampleEvery: 100, trackAll: false, reconnectOnDrop: false, reconnectDelayMs: 1000 });
  const connects: VariantResult['connects'] = [];
  let connected = 0;
  for (const n of counts) {
    // A refused stream (the service was behind while clients poured in) still answers 200 to an
    // event-stream client, with retry advice: count what the service holds, and top up (3 rounds).
    for (let round = 0; round < 3; round++) {
      const held = metricSum(await scrapeMetrics(service.port), 'eventstreams_connected_clients') ?? connected;
      if (held >= n) break;
      const want = n - held;
      const timeoutMs = 30_000 + want * 10;
      log(`memory ${variant.name}: connecting ${want} more clients (to ${n})`);
      const c = await gen.request({ type: 'connect', count: want, maxPending: 200, timeoutMs, headers: {} }, timeoutMs + 30_000);
      connects.push({ clients: n, connected: c.connected, ms: c.ms, statuses: c.statuses });
      log(`memory ${variant.name}: ${c.connected}/${want} answered 200 in ${c.ms} ms (statuses ${JSON.stringify(c.statuses)})`);
      connected = held + c.connected;
      const first = await gen.request({ type: 'wait-first-event', timeoutMs: 60_000 }, 70_000);
      log(`memory ${variant.name}: ${first.withEvent}/${first.open} clients received events`);
      await sleep(2000);
    }
    await sleep(settleS * 1000);
    const asIs = record([await sample(service, inspector, `${n} clients`, n, false)]);
    const after: Sample[] = [];
    for (let i = 0; i < samples; i++) {
      if (i > 0) await sleep(1000);
      after.push(await sample(service, inspector, `${n} clients`, n, true));
    }
    asIsRows.set(n, asIs);
    gcRows.set(n, record(after));
    if (service.exited() !== null) throw new Error(`the service exited: ${service.exited()}`);
  }
  await gen.stop();
  await sleep(5000);
  const left: Sample[] = [];
  for (let i = 0; i < samples; i++) {
    if (i > 0) await sleep(1000);
    left.push(await sample(service, inspector, 'after all left', 0, true));
  }
  record(left);
  await inspector.close();
  await service.stop();
  const base = gcRows.get(0)!;
  const baseAsIs = asIsRows.get(0)!;
  const perClient = counts.flatMap((n, i) => (n === 0 ? [] : [perClientOf(base, baseAsIs, gcRows.get(n)!, asIsRows.get(n)!, gcRows.get(counts[i - 1]!)!)]));
  return { variant: variant.name, env: variant.env, nodeArgs: variant.nodeArgs, rows, perClient, connects, serviceLog: { levels: service.logs.levels, problems: service.logs.problems } };
}

interface SnapshotResult {
  clients: number;
  connected: number;
  files: { start: string; clients: string; after: string };
  start: { nodes: number; totalBytes: number; byType: Record<string, number>; classes: HeapSummary['classes']; retainers: HeapSummary['retainers'] };
  clientsTotalBytes: number;
  afterTotalBytes: number;
  /** Per class: what the clients added (snapshot with clients minus after they left), per client. */
  perClient: (ClassDiff & { countPerClient: number; bytesPerClient: number })[];
  bytesPerClient: number;
}

async function runSnapshots(cleanup: Cleanup, brokers: string[], variant: Variant): Promise<SnapshotResult> {
  const dir = await mkdtemp(join(tmpdir(), 'eventstreams-memory-'));
  log(`memory: heap snapshots (${snapshotClients} clients) in ${dir}`);
  const { service, inspector } = await startService(cleanup, 'memory-snapshots', brokers, variant);
  const files = { start: join(dir, 'start.heapsnapshot'), clients: join(dir, `clients-${snapshotClients}.heapsnapshot`), after: join(dir, 'after.heapsnapshot') };
  const snap = async (file: string): Promise<void> => {
    const t = Date.now();
    await inspector.heapSnapshot(file);
    log(`memory: ${file} written in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    // The snapshot stopped the process for seconds: its load guard refuses new streams (event-loop
    // lag) until a full second without that lag has passed.
    await sleep(3000);
  };
  await snap(files.start);
  const gen = await LoadGen.start(cleanup, { port: service.port, path: STREAM_PATH, sampleEvery: 100, trackAll: false, reconnectOnDrop: false, reconnectDelayMs: 1000 });
  const timeoutMs = 30_000 + snapshotClients * 10;
  const c = await gen.request({ type: 'connect', count: snapshotClients, maxPending: 200, timeoutMs, headers: {} }, timeoutMs + 30_000);
  const first = await gen.request({ type: 'wait-first-event', timeoutMs: 60_000 }, 70_000);
  await sleep(settleS * 1000);
  const connected = metricSum(await scrapeMetrics(service.port), 'eventstreams_connected_clients') ?? 0;
  log(`memory: ${c.connected}/${snapshotClients} connected in ${c.ms} ms, ${first.withEvent}/${first.open} received events; the service counts ${connected}`);
  await snap(files.clients);
  await gen.stop();
  await sleep(5000);
  await snap(files.after);
  await inspector.close();
  await service.stop();
  log('memory: summarising the snapshots');
  const start = summarizeHeap(files.start, top);
  const withClients = summarizeHeap(files.clients, top);
  const after = summarizeHeap(files.after, top);
  const n = Math.max(1, connected);
  const perClient = diffHeaps(after, withClients)
    .slice(0, top)
    .map((d) => ({ ...d, countPerClient: round(d.count / n, 2) ?? 0, bytesPerClient: Math.round(d.selfBytes / n) }));
  return {
    clients: snapshotClients,
    connected,
    files,
    start: { nodes: start.nodes, totalBytes: start.totalBytes, byType: start.byType, classes: start.classes.slice(0, top), retainers: start.retainers.slice(0, top) },
    clientsTotalBytes: withClients.totalBytes,
    afterTotalBytes: after.totalBytes,
    perClient,
    bytesPerClient: Math.round((withClients.totalBytes - after.totalBytes) / n),
  };
}

const maxClients = counts.at(-1) ?? 0;
const deadlineMs = (variants.length * (120 + counts.length * (settleS + samples * 3 + 30)) + maxClients * 0.05 * variants.length + 600) * 1000;

runMain('memory', deadlineMs, async (cleanup) => {
  const info = machineInfo();
  const { kafka, producer } = await startLiveBench(cleanup, num(opts['kafka-port'], 'kafka-port'));
  producer.setRate(rate);
  const results: VariantResult[] = [];
  for (const variant of variants) results.push(await runVariant(cleanup, kafka.brokers, variant));
  const snapshots = snapshotClients > 0 ? await runSnapshots(cleanup, kafka.brokers, variants[0]!) : null;
  await producer.pause();

  const kb = (bytes: number | null): Cell => (bytes === null ? null : round(bytes / 1000, 1));
  const kib = (bytes: number): number => round(bytes / 1024, 1) ?? 0;
  let md =
    `## memory: the idle service and ${counts.filter((n) => n > 0).map((n) => n.toLocaleString('en-US')).join(' / ')} clients, each reading every event, at ${rate} events/s\n\n` +
    `${info.date}, node ${info.node}, ${info.cores} cores (${info.cpuModel}), commit ${info.gitCommit ?? '?'}${info.gitDirty === true ? ' + uncommitted src changes' : ''}. ` +
    `Catalogue: ${opts.catalogue}. Each variant is a fresh service process; clients connect to \`${STREAM_PATH}\` and stay connected, reading, ` +
    `${settleS} s before sampling. Rows "after GC" are medians of ${samples} samples each right after a full GC (inspector). ` +
    `RSS anon/file from /proc/<pid>/smaps: *main arena* = glibc's brk heap, *other arenas* = glibc's per-thread malloc arenas, *other anon* = V8 heap pages, code, wasm memory, stacks. ` +
    `Before the N = 0 row, ${warmupClients} clients connected, read for 5 s and left (shared readers outlive them for the whole run), so N = 0 is a service that has served. Per client = (figure at N − figure at 0) / N of the same process, after a full GC; *as is* = without the GC; *marginal* = per client added since the previous N; *minus cache* leaves out the recent-events cache's growth (it fills at ${rate} events/s whatever the clients). KB = 1,000 bytes; target ≤ 20 KB of RSS per client.\n`;
  for (const r of results) {
    md +=
      `\n### ${r.variant}${Object.keys(r.env).length > 0 ? ` (${Object.entries(r.env).map(([k, v]) => `${k}=${v}`).join(' ')})` : ''}${r.nodeArgs.length > 0 ? ` (${r.nodeArgs.join(' ')})` : ''}\n\n` +
      table(
        ['phase', 'GC', 'connected', 'RSS MiB', 'anon', 'file', 'main arena', 'other arenas (n)', 'other anon', 'heap used', 'heap total', 'code', 'external', 'array buffers', 'V8 malloced', 'cache'],
        r.rows.map((x) => [x.phase, x.gc, x.connected, x.rssMiB, x.rssAnonMiB, x.rssFileMiB, x.brkHeapMiB, x.threadArenasMiB === null ? null : `${x.threadArenasMiB} (${x.threadArenas})`, x.otherAnonMiB, x.heapUsedMiB, x.heapTotalMiB, x.codeMiB, x.externalMiB, x.arrayBuffersMiB, x.v8MallocedMiB, x.cacheMiB]),
      ) +
      '\n\n' +
      table(
        ['clients', 'RSS KB/client', 'minus cache', 'anon', 'heap used', 'external', 'RSS as is', 'heap as is', 'marginal RSS', 'marginal heap', '≤ 20 KB'],
        r.perClient.map((p) => [p.clients, kb(p.rssBytes), kb(p.rssMinusCacheBytes), kb(p.rssAnonBytes), kb(p.heapUsedBytes), kb(p.externalBytes), kb(p.rssAsIsBytes), kb(p.heapAsIsBytes), kb(p.marginalRssBytes), kb(p.marginalHeapBytes), p.pass]),
      ) +
      '\n';
    const problems = Object.entries(r.serviceLog.problems);
    if (problems.length > 0) md += `\nService warnings/errors: ${problems.slice(0, 5).map(([k, v]) => `${v} × ${k}`).join('; ')}.\n`;
  }
  if (results.length > 1) {
    md +=
      '\n### variants side by side (after GC)\n\n' +
      table(
        ['clients', ...results.flatMap((r) => [`${r.variant} RSS MiB`, `${r.variant} KB/client`])],
        counts.map((n) => [
          n,
          ...results.flatMap((r) => {
            const row = r.rows.find((x) => x.clients === n && x.gc && x.phase !== 'start' && x.phase !== 'after all left');
            return [row?.rssMiB ?? null, kb(r.perClient.find((p) => p.asked === n)?.rssBytes ?? null)];
          }),
        ]),
      ) +
      '\n';
  }
  if (snapshots !== null) {
    md +=
      `\n### heap snapshots (${variants[0]!.name}, ${snapshots.connected.toLocaleString('en-US')} clients)\n\n` +
      `The idle service right after start: ${kib(snapshots.start.totalBytes).toLocaleString('en-US')} KiB in ${snapshots.start.nodes.toLocaleString('en-US')} objects; ` +
      `by type: ${Object.entries(snapshots.start.byType).sort((a, b) => b[1] - a[1]).slice(0, 8).map(([t, b]) => `${t} ${kib(b).toLocaleString('en-US')}`).join(', ')} KiB. ` +
      `With the clients ${kib(snapshots.clientsTotalBytes).toLocaleString('en-US')} KiB, after they left ${kib(snapshots.afterTotalBytes).toLocaleString('en-US')} KiB: ` +
      `**${snapshots.bytesPerClient.toLocaleString('en-US')} bytes of heap per client**.\n\n` +
      'Largest classes of the idle heap (retained: what freeing all instances would free):\n\n' +
      table(['class', 'count', 'self KiB', 'retained KiB'], snapshots.start.classes.filter((c) => c.name !== '(synthetic)').map((c) => [c.name, c.count, kib(c.selfBytes), kib(c.retainedBytes)])) +
      '\n\nLargest retainers of the idle heap (a shortest path from the GC roots):\n\n' +
      table(['retained KiB', 'class', 'path'], snapshots.start.retainers.map((x) => [kib(x.retainedBytes), x.name, x.path.length > 300 ? `…${x.path.slice(-300)}` : x.path])) +
      `\n\nWhat one client adds to the heap, by class (snapshot with ${snapshots.connected.toLocaleString('en-US')} clients minus after they left, divided by the clients):\n\n` +
      table(['class', 'objects per client', 'bytes per client'], snapshots.perClient.map((d) => [d.name, d.countPerClient, d.bytesPerClient])) +
      '\n';
  }
  writeResults(opts.name, { benchmark: 'memory', args: { counts, rate, settleS, samples, variants: variants.map((v) => v.name), snapshotClients, catalogue: opts.catalogue }, machine: info, results, snapshots }, md);
});
