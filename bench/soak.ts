/**
 * Soak: clients connecting and disconnecting continuously for a long time at a recentchange-like
 * rate; does everything the service holds (memory, handles, timers, readers) return to where it
 * was before the clients came, and does every resume stay exact?
 *
 *   node bench/soak.ts [--minutes 30] [--clients 1000] [--rate 50] [--min-life 5] [--max-life 60]
 *
 * Setup: a fresh local Kafka on 127.0.0.1:29492 (.kafka/bench-29492) with the two recentchange
 * topics (1 partition each), a producer of real recorded events with `bench: {seq, sent_ms}`
 * first, alternating the topics, a fresh service process (default fan-out settings) and the load
 * generator process parsing EVERY client.
 *
 * Sequence: prelude (one client reads one event and leaves, so the service's Kafka connections
 * exist, then the idle-reader TTL passes) -> baseline (3 samples, each after a full GC through the
 * inspector, no client, nothing produced) -> all clients connect live to the
 * idle stream -> production starts at seq A, so every client must get every seq from A on ->
 * churn for `--minutes`: each client lives a uniformly random `--min-life`..`--max-life` s, closes
 * and reconnects with the Last-Event-ID of its last complete event (a failed attempt is retried
 * after 1 s; a stream the server ends is resumed the same way and counted as a drop) -> churn
 * stops, production stops at seq B, every client must receive B -> gaps/duplicates per client over
 * [A, B], per partition (must be 0) -> all clients disconnect, the generator exits -> the service
 * is sampled for the idle-reader TTL + 10 s -> end (3 samples after a full GC each), compared
 * with the baseline. Growth during the churn is also given as slopes (MiB/h) over its last 4/5,
 * for RSS and for RSS minus the recent-events caches (which fill for the first minutes: 32 MiB per
 * partition at ~37 kB/s each at 50 events/s).
 *
 * Every `--sample` s: service RSS (/proc), heap, external memory, active handles, active
 * resources and timers (prom-client's nodejs_active_handles_total / nodejs_active_resources),
 * open fds, shared and catch-up readers, connected clients, cache bytes, event-loop lag p99,
 * disconnects by reason; the generator's open clients, reconnect cycles, drops and statuses; the
 * CPU used by processes outside the run ("other load"). Results: bench/results/soak.json (with the
 * series), soak.csv (the series) and soak.md. Figures only, no assertions.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../scripts/lib/repo-root.ts';
import { LoadGen } from './lib/loadgen-client.ts';
import type { GenStatus } from './lib/loadgen-protocol.ts';
import { RECENTCHANGE_TOPICS } from './lib/kafka.ts';
import type { Mark } from './lib/proc.ts';
import { RECENTCHANGE_STREAMS, startLiveBench } from './lib/setup.ts';
import { machineInfo, table, writeResults, type Cell } from './lib/report.ts';
import { log, nodeArgs, num, options, runMain, serviceOptions, sleep } from './lib/run.ts';
import { collectGarbage, INSPECT_ARGS, InspectorSession } from './lib/inspector-gc.ts';
import { diffHeaps, summarizeHeap, type ClassDiff } from './lib/heap-snapshot.ts';
import { readFirstEvent, startServiceChild } from './lib/service.ts';
import { fdKindChanges, sampleService, toCsv, type ServiceSample } from './lib/service-sample.ts';
import { round } from './lib/stats.ts';

const opts = options('node bench/soak.ts [options]', {
  minutes: { default: '30', help: 'minutes of churn' },
  clients: { default: '1000', help: 'clients connected at any time (each reconnects after its life)' },
  rate: { default: '50', help: 'events/s produced in total (recentchange is ~25-100)' },
  'min-life': { default: '5', help: 'shortest client life, s' },
  'max-life': { default: '60', help: 'longest client life, s' },
  sample: { default: '10', help: 'seconds between samples' },
  'idle-ttl': { default: '30', help: 'service fanout.idle_reader_ttl_ms, in s' },
  gc: { default: 'yes', help: 'force a full GC in the service (inspector) before the baseline and end samples' },
  'gc-every': { default: '60', help: 'seconds between full GCs during the churn (0: none): what they leave is what is live, not garbage' },
  snapshots: { default: 'no', help: 'yes: heap snapshots after the warm-up and at the end of the churn, compared per class (what the live heap grew by)' },
  ...serviceOptions('soak', 29492),
});
const minutes = num(opts.minutes, 'minutes');
const clients = Math.floor(num(opts.clients, 'clients'));
const rate = num(opts.rate, 'rate');
const minLifeS = num(opts['min-life'], 'min-life');
const maxLifeS = Math.max(minLifeS, num(opts['max-life'], 'max-life'));
const sampleS = Math.max(1, num(opts.sample, 'sample'));
const idleTtlS = num(opts['idle-ttl'], 'idle-ttl');
const gcEveryS = opts.gc === 'yes' ? num(opts['gc-every'], 'gc-every') : 0;
const snapshots = opts.snapshots === 'yes';
const connectTimeoutMs = 30_000 + clients * 10;

type Row = ServiceSample & {
  phase: 'cold' | 'baseline' | 'soak' | 'drain' | 'idle' | 'end';
  /** A full GC ran in the service just before this sample. */
  gc: boolean;
  genOpen: number | null;
  genCycles: number | null;
  genDrops: number | null;
  producedSeq: number;
  otherLoadPct: number | null;
};

/** The figures compared between baseline and end. */
const COMPARED = ['rssMiB', 'heapUsedMiB', 'externalMiB', 'activeHandles', 'activeResources', 'timers', 'openFds', 'sharedReaders', 'catchUpReaders', 'connectedClients', 'cacheMiB'] as const;
type Compared = (typeof COMPARED)[number];
/** Counts that must be back exactly; the memory figures are reported as deltas. */
const EXACT: ReadonlySet<Compared> = new Set(['activeHandles', 'activeResources', 'timers', 'openFds', 'sharedReaders', 'catchUpReaders', 'connectedClients']);

function median(values: readonly (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null).sort((a, b) => a - b);
  return v.length === 0 ? null : v[Math.floor(v.length / 2)]!;
}

/** Least-squares slope of y over t (per hour), or null with fewer than 3 points. */
function slopePerHour(points: readonly { t: number; y: number | null }[]): number | null {
  const p = points.filter((x): x is { t: number; y: number } => x.y !== null);
  if (p.length < 3) return null;
  const mt = p.reduce((a, x) => a + x.t, 0) / p.length;
  const my = p.reduce((a, x) => a + x.y, 0) / p.length;
  let num_ = 0;
  let den = 0;
  for (const x of p) {
    num_ += (x.t - mt) * (x.y - my);
    den += (x.t - mt) ** 2;
  }
  return den === 0 ? null : round((num_ / den) * 3600, 1);
}

runMain('soak', (minutes * 60 + 1200) * 1000 + connectTimeoutMs, async (cleanup) => {
  const info = machineInfo();
  const { kafka, producer, monitor } = await startLiveBench(cleanup, num(opts['kafka-port'], 'kafka-port'));

  const service = await startServiceChild(
    cleanup,
    `soak-${clients}`,
    {
      log_level: opts['log-level'],
      kafka: { brokers: kafka.brokers },
      streams: RECENTCHANGE_STREAMS,
      fanout: { idle_reader_ttl_ms: idleTtlS * 1000 },
    },
    [...(opts.gc === 'yes' || snapshots ? INSPECT_ARGS : []), ...nodeArgs(opts['service-node-args'])],
  );
  monitor.watch('service', service.pid);

  const t0 = Date.now();
  const rows: Row[] = [];
  let gen: LoadGen | null = null;
  let lastMark: Mark = monitor.mark();
  const sample = async (phase: Row['phase'], gc = false): Promise<Row> => {
    const collected = gc && opts.gc === 'yes' ? await collectGarbage(service.logs.file) : false;
    if (gc && opts.gc === 'yes' && !collected) log('soak: could not reach the service inspector for a GC');
    const s = await sampleService(service.pid, service.port, t0);
    const st: GenStatus | null = gen === null ? null : await gen.request({ type: 'status' }, 30_000).catch(() => null);
    const mark = monitor.mark();
    const row: Row = {
      ...s,
      phase,
      gc: collected,
      genOpen: st?.open ?? null,
      genCycles: st?.churnCycles ?? null,
      genDrops: st?.drops ?? null,
      producedSeq: producer.stats.nextSeq,
      otherLoadPct: monitor.otherLoadPct(lastMark, mark, ['service', 'generator', 'kafka', 'bench']),
    };
    lastMark = mark;
    rows.push(row);
    return row;
  };
  const say = (r: Row): void =>
    log(
      `soak ${r.phase} t=${r.t}s: RSS ${r.rssMiB} MiB, heap ${r.heapUsedMiB} MiB, handles ${r.activeHandles}, timers ${r.timers}, fds ${r.openFds}, ` +
        `shared ${r.sharedReaders}, catch-up ${r.catchUpReaders}, clients ${r.connectedClients} (gen open ${r.genOpen}, cycles ${r.genCycles}, drops ${r.genDrops}), ` +
        `lag p99 ${r.eventLoopLagP99Ms} ms, other load ${r.otherLoadPct} %`,
    );

  say(await sample('cold'));
  log('soak: prelude: one client reads one event (the service opens its Kafka connections), then the idle TTL passes');
  producer.setRate(rate);
  const prelude = await readFirstEvent(service.port, '/v2/stream/recentchange', {}, 30_000);
  await producer.pause();
  if (prelude === null) throw new Error('prelude: no event within 30 s');
  await sleep((idleTtlS + 10) * 1000);
  log('soak: baseline (no clients, nothing produced, a full GC before each sample)');
  const baselineFrom = rows.length;
  for (let i = 0; i < 3; i++) {
    await sleep(2000);
    say(await sample('baseline', true));
  }
  const baselineRows = rows.slice(baselineFrom);

  gen = await LoadGen.start(cleanup, {
    port: service.port,
    path: '/v2/stream/recentchange',
    sampleEvery: 50,
    trackAll: true,
    reconnectOnDrop: true,
    reconnectDelayMs: 1000,
  });
  monitor.watch('generator', gen.pid);
  log(`soak: connecting ${clients} clients`);
  const connect = await gen.request({ type: 'connect', count: clients, maxPending: 200, timeoutMs: connectTimeoutMs, headers: {} }, connectTimeoutMs + 30_000);
  log(`soak: ${connect.connected}/${clients} connected in ${connect.ms} ms (statuses ${JSON.stringify(connect.statuses)})`);
  if (connect.connected === 0) throw new Error('no client connected');
  const seqA = producer.stats.nextSeq;
  producer.setRate(rate);
  const flowing = await gen.request({ type: 'wait-first-event', timeoutMs: 60_000 }, 70_000);
  log(`soak: ${flowing.withEvent}/${flowing.open} clients have events; churn for ${minutes} min (lives ${minLifeS}..${maxLifeS} s)`);
  await gen.request({ type: 'churn-start', minLifeMs: minLifeS * 1000, maxLifeMs: maxLifeS * 1000, retryDelayMs: 1000 }, 10_000);
  await gen.request({ type: 'window-start' }, 10_000);
  const soakStart = Date.now();
  const soakStartT = (soakStart - t0) / 1000;
  const soakMark = monitor.mark();
  let lastGc = soakStart;
  // Heap snapshots (each a full GC first) after the warm-up and at the end of the churn: what grew.
  const snapshotDir = snapshots ? mkdtempSync(join(tmpdir(), 'eventstreams-soak-')) : null;
  const snapshotFiles: string[] = [];
  const snapshot = async (name: string): Promise<void> => {
    if (snapshotDir === null) return;
    const inspector = await InspectorSession.open(service.logs.file);
    if (inspector === null) throw new Error('soak: could not reach the service inspector for a heap snapshot');
    const file = join(snapshotDir, `${name}.heapsnapshot`);
    const t = Date.now();
    await inspector.heapSnapshot(file).finally(() => inspector.close());
    snapshotFiles.push(file);
    log(`soak: ${file} written in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  };
  while (Date.now() - soakStart < minutes * 60_000) {
    if (snapshotFiles.length === 0 && snapshotDir !== null && Date.now() - soakStart >= (minutes * 60_000) / 5) await snapshot('warm');
    await sleep(Math.min(sampleS * 1000, Math.max(0, minutes * 60_000 - (Date.now() - soakStart))));
    const gcNow = gcEveryS > 0 && Date.now() - lastGc >= gcEveryS * 1000;
    if (gcNow) lastGc = Date.now();
    const r = await sample('soak', gcNow);
    if (rows.length % 6 === 0) say(r);
    if (service.exited() !== null) throw new Error(`the service exited during the soak: ${service.exited()}`);
  }
  const soakEndT = (Date.now() - t0) / 1000;
  const soakEndMark = monitor.mark();
  await snapshot('end');
  const grown: ClassDiff[] = snapshotFiles.length === 2 ? diffHeaps(summarizeHeap(snapshotFiles[0]!), summarizeHeap(snapshotFiles[1]!)).slice(0, 15) : [];

  log('soak: churn stops; production stops; every client must receive the last seq');
  await gen.request({ type: 'churn-stop' }, 10_000);
  await sleep(3000);
  const seqB = await producer.pause();
  const reached = await gen.request({ type: 'wait-seq', seq: seqB, timeoutMs: 120_000 }, 150_000);
  const win = await gen.request({ type: 'window-end' }, 30_000);
  const check = await gen.request({ type: 'check', fromSeq: seqA, toSeq: seqB, exclude: producer.stats.uncertainSeqs, stride: RECENTCHANGE_TOPICS.length }, 300_000);
  const genStatus = await gen.request({ type: 'status' }, 30_000);
  say(await sample('drain'));
  log(
    `soak: ${check.clientsChecked} clients over seqs ${seqA}..${seqB}: ${check.missing} lost (${check.clientsWithGaps} clients), ${check.duplicatesAnywhere} duplicates, ` +
      `${check.clientsBehind} behind; ${genStatus.churnCycles} reconnect cycles, ${genStatus.drops} drops`,
  );
  await gen.stop();
  gen = null;
  monitor.unwatch('generator');
  const idleMs = (idleTtlS + 10) * 1000;
  const idleStart = Date.now();
  log(`soak: all clients gone; sampling the idle service for ${idleMs / 1000} s (idle reader TTL ${idleTtlS} s)`);
  while (Date.now() - idleStart < idleMs) {
    await sleep(5000);
    say(await sample('idle'));
  }
  const endFrom = rows.length;
  for (let i = 0; i < 3; i++) {
    await sleep(2000);
    say(await sample('end', true));
  }
  const endRows = rows.slice(endFrom);

  const compare = COMPARED.map((key) => {
    const base = median(baselineRows.map((r) => r[key]));
    const end = median(endRows.map((r) => r[key]));
    const soakValues = rows.filter((r) => r.phase === 'soak').map((r) => r[key]).filter((v): v is number => v !== null);
    const peak = soakValues.length === 0 ? null : Math.max(...soakValues);
    const delta = base === null || end === null ? null : round(end - base, 1);
    return { key, baseline: base, peak, end, delta, back: EXACT.has(key) ? delta === 0 : null };
  });
  // Growth during the churn itself, after the first fifth (warm-up: JIT, caches filling, heap sizing).
  const steadyFrom = soakStartT + (soakEndT - soakStartT) / 5;
  // A forced GC's sample is not comparable with the others: slopes over those without one.
  const steady = rows.filter((r) => r.phase === 'soak' && r.t >= steadyFrom && !r.gc);
  const collected = rows.filter((r) => r.phase === 'soak' && r.gc);
  const steadyCollected = collected.filter((r) => r.t >= steadyFrom);
  const heapValues = (of: readonly Row[]) => of.map((r) => r.heapUsedMiB).filter((v): v is number => v !== null);
  const steadyHeap = heapValues(steadyCollected);
  const allHeap = heapValues(collected);
  // What the clients keep alive, sampled right after a full GC in the churn.
  const liveHeap = {
    samples: collected.length,
    firstMiB: steadyHeap.at(0) ?? null,
    lastMiB: steadyHeap.at(-1) ?? null,
    maxMiB: allHeap.length === 0 ? null : Math.max(...allHeap),
    medianMiB: median(steadyHeap),
    slopeMiBPerHour: slopePerHour(steadyCollected.map((r) => ({ t: r.t, y: r.heapUsedMiB }))),
  };
  const slopes = {
    rssMiBPerHour: slopePerHour(steady.map((r) => ({ t: r.t, y: r.rssMiB }))),
    rssMinusCacheMiBPerHour: slopePerHour(steady.map((r) => ({ t: r.t, y: r.rssMiB === null || r.cacheMiB === null ? null : r.rssMiB - r.cacheMiB }))),
    heapUsedMiBPerHour: slopePerHour(steady.map((r) => ({ t: r.t, y: r.heapUsedMiB }))),
    activeHandlesPerHour: slopePerHour(steady.map((r) => ({ t: r.t, y: r.activeHandles }))),
    timersPerHour: slopePerHour(steady.map((r) => ({ t: r.t, y: r.timers }))),
  };
  const serviceSoak = monitor.proc('service', soakMark, soakEndMark);
  const generatorSoak = monitor.proc('generator', soakMark, soakEndMark);
  const otherLoad = median(rows.filter((r) => r.phase === 'soak').map((r) => r.otherLoadPct));
  const lastSoak = rows.filter((r) => r.phase === 'soak').at(-1);
  // What the open fds that differ are (the counts alone cannot tell a leak from a Kafka connection).
  const fdChanges = fdKindChanges(baselineRows.at(-1)?.fdKinds ?? null, endRows.at(-1)?.fdKinds ?? null);
  const baselineFdSpread = baselineRows.slice(1).flatMap((r) => fdKindChanges(baselineRows[0]!.fdKinds, r.fdKinds));
  const problems = Object.entries(service.logs.problems);
  const warnLines = service.logs.levels.warn ?? 0;
  const errorLines = (service.logs.levels.error ?? 0) + (service.logs.levels.fatal ?? 0);
  const result = {
    connect,
    flowing,
    interval: { fromSeq: seqA, toSeq: seqB, events: seqB - seqA + 1, uncertainSeqs: producer.stats.uncertainSeqs.length },
    reachedLast: reached,
    check,
    generator: { status: genStatus, latencyMs: win.latencyMs, cpu: generatorSoak, elu: win.usage.elu },
    compare,
    fdChanges,
    baselineFdSpread,
    slopes,
    liveHeap,
    heapGrowth: grown,
    service: { soak: serviceSoak, disconnects: lastSoak?.disconnects ?? {}, rejected: lastSoak?.rejected ?? null, logs: service.logs, exit: service.exited() },
    otherLoadPctMedian: otherLoad,
    producer: producer.stats,
    series: rows,
  };
  const csvFile = join(repoRoot, 'bench', 'results', `${opts.name}.csv`);
  const names: Record<Compared, string> = {
    rssMiB: 'RSS MiB',
    heapUsedMiB: 'heap used MiB',
    externalMiB: 'external MiB',
    activeHandles: 'active handles',
    activeResources: 'active resources',
    timers: 'timers (ref’d)',
    openFds: 'open fds',
    sharedReaders: 'shared readers',
    catchUpReaders: 'catch-up readers',
    connectedClients: 'connected clients',
    cacheMiB: 'cache MiB',
  };
  const every = Math.max(1, Math.round(300 / sampleS));
  const seriesRows: Cell[][] = rows
    .filter((r, i) => (r.phase !== 'soak' && r.phase !== 'idle') || i % every === 0 || r === lastSoak)
    .map((r) => [r.gc ? `${r.phase} (GC)` : r.phase, Math.round(r.t), r.rssMiB, r.heapUsedMiB, r.activeHandles, r.timers, r.openFds, r.sharedReaders, r.catchUpReaders, r.connectedClients, r.genCycles, r.eventLoopLagP99Ms, r.otherLoadPct]);
  const md =
    `## soak: ${clients.toLocaleString('en-US')} clients churning for ${minutes} min at ${rate} events/s\n\n` +
    `${info.date}, node ${info.node}, ${info.cores} cores (${info.cpuModel}), commit ${info.gitCommit ?? '?'}${info.gitDirty === true ? ' + uncommitted src changes' : ''}. ` +
    `Each client lives ${minLifeS}–${maxLifeS} s, then reconnects with its Last-Event-ID. Baseline: the idle service after a one-event prelude (so its Kafka connections exist) and the idle reader TTL (${idleTtlS} s); end: ${idleTtlS + 10} s after the last client left; medians of 3 samples, each after a full GC${opts.gc === 'yes' ? '' : ' (off: --gc no)'}. Slopes: least squares over the last 4/5 of the churn, samples without a forced GC. ` +
    `Timers are those keeping the loop alive (unref'd timers are not listed by \`process.getActiveResourcesInfo()\`). Other load (CPU outside this run, % of one core, median of the soak samples): ${otherLoad ?? '–'} %.\n\n` +
    table(
      ['clients', 'minutes', 'events produced', 'reconnect cycles', 'failed attempts', 'server drops', 'lost (gaps)', 'duplicates', 'clients behind at end', 'warn lines', 'error lines', 'service CPU %', 'RSS slope MiB/h', 'RSS − cache slope MiB/h', 'heap slope MiB/h'],
      [[clients, minutes, result.interval.events, genStatus.churnCycles, genStatus.churnFailures, genStatus.drops, check.missing, check.duplicatesAnywhere, check.clientsBehind, warnLines, errorLines, serviceSoak.cpuPct, slopes.rssMiBPerHour, slopes.rssMinusCacheMiBPerHour, slopes.heapUsedMiBPerHour]],
    ) +
    '\n\n' +
    table(
      ['', 'baseline', 'peak in soak', 'end', 'end − baseline', 'back to baseline'],
      compare.map((c) => [names[c.key], c.baseline, c.peak, c.end, c.delta, c.back]),
    ) +
    (liveHeap.samples === 0
      ? ''
      : `\n\nHeap used right after a full GC during the churn (every ${gcEveryS} s, ${liveHeap.samples} times; after the first fifth: first ${liveHeap.firstMiB}, median ${liveHeap.medianMiB}, last ${liveHeap.lastMiB} MiB, slope ${liveHeap.slopeMiBPerHour ?? '–'} MiB/h; highest ${liveHeap.maxMiB} MiB): what the clients keep alive; the rest of the heap in the samples without a GC is garbage not yet collected.`) +
    (grown.length === 0
      ? ''
      : `\n\nWhat the live heap grew by from the snapshot after the warm-up to the one at the end of the churn, per class (count, KiB):\n\n` +
        table(['class', 'count', 'KiB'], grown.map((d) => [d.name.slice(0, 60), d.count, Math.round(d.selfBytes / 1024)]))) +
    `\n\nOpen fds by kind, last end sample against last baseline sample: ${fdChanges.length === 0 ? 'the same' : fdChanges.join(', ')}` +
    `${baselineFdSpread.length === 0 ? '' : ` (between the baseline samples themselves: ${baselineFdSpread.join(', ')})`}.` +
    '\n\n' +
    table(['phase', 't s', 'RSS MiB', 'heap MiB', 'handles', 'timers', 'fds', 'shared', 'catch-up', 'clients', 'cycles', 'lag p99 ms', 'other load %'], seriesRows) +
    `\n\nFull series every ${sampleS} s: \`bench/results/${opts.name}.csv\`. Disconnects by reason during the soak: ${JSON.stringify(result.service.disconnects)}; stream requests refused (a retry stream, which the generator counts as a server drop, or 429/503): ${result.service.rejected ?? '?'}.` +
    (problems.length > 0 ? ` Service warnings/errors: ${problems.slice(0, 5).map(([k, v]) => `${v} × ${k}`).join('; ')}.` : ' No warning or error in the service log.') +
    (Object.keys(genStatus.errors).length > 0 ? ` Generator socket errors: ${JSON.stringify(genStatus.errors)}.` : '') +
    (reached.reached < reached.tracked ? ` Only ${reached.reached}/${reached.tracked} clients received the last seq within 120 s.` : '') +
    (result.service.exit !== null ? ` The service exited: ${result.service.exit}.` : '') +
    '\n';
  writeResults(opts.name, { benchmark: 'soak', args: { minutes, clients, rate, minLifeS, maxLifeS, sampleS, idleTtlS }, machine: info, result }, md);
  writeFileSync(csvFile, toCsv(rows));
  await service.stop();
});
