/**
 * Fan-out benchmark: N SSE clients on one live stream, the service in its own process, the load
 * generator in another, and the bare-Node ceiling (bench/lib/limit-fanout.mjs) run in the
 * same invocation for the ratios.
 *
 *   node bench/fanout.ts [--clients 1000,5000,10000] [--rate 100] [--seconds 30]
 *                        [--modes shared,per_connection] [--per-connection-max 1000]
 *                        [--filtered none,wiki,mix]
 *
 * Setup: a fresh local Kafka on 127.0.0.1:29092 (.kafka/bench-29092) with the two recentchange
 * topics (eqiad/codfw, 1 partition each); a producer writing `--rate` events/s in total (the real
 * recorded recentchange events, each with `bench: {seq, sent_ms}` first); the stream
 * `recentchange` over both topics.
 *
 * For every N: limit-fanout with N clients (producer paused), then for every mode (`shared`
 * always, `per_connection` only for N <= --per-connection-max) a fresh service process and a
 * fresh generator: connect N clients to the idle stream (connect time = connection setup, no
 * events flowing yet), start the producer, wait until events flow, then measure for
 * `--seconds`: delivered events/s over all clients (bytes counted on every socket, events and
 * latency parsed on every `--sample-every`-th), produce-to-receive latency p50/p99/max, service
 * and generator CPU % / RSS from /proc, Kafka fetch requests/s from the service's /metrics (null
 * when /metrics is missing) and, 3 s after the window, missing/duplicate events on the sampled
 * clients. Results: bench/results/fanout.json and .md; the table is printed. Figures only, no
 * assertions: the target (10,000 clients at 100 events/s, p99 < 250 ms, RSS < 1.5 GiB, >= 99 %
 * delivered) is shown as pass/fail.
 *
 * `--filtered` runs every mode once per filter setting: `none` (the default) as above; `wiki` and
 * `mix` give the clients filters (bench/lib/client-filters.ts), every client is parsed, and the
 * expected deliveries follow from the seqs produced and what each filter matches.
 */
import { clientFilters, expectedDeliveries, FILTER_MODES, isFilterMode, type FilterMode } from './lib/client-filters.ts';
import { LoadGen } from './lib/loadgen-client.ts';
import type { CheckResult, ConnectResult, WindowResult } from './lib/loadgen-protocol.ts';
import { RECENTCHANGE_TOPICS, type RateProducer } from './lib/kafka.ts';
import { runLimitFanout, type LimitResult } from './lib/limit.ts';
import type { MachineWindow, Monitor, ProcWindow } from './lib/proc.ts';
import { RECENTCHANGE_STREAMS, startLiveBench } from './lib/setup.ts';
import { machineInfo, table, writeResults, type Cell } from './lib/report.ts';
import { log, num, numList, options, runMain, sleep, type Cleanup, nodeArgs, serviceOptions } from './lib/run.ts';
import { metricDelta, metricDeltaBy, metricSum, scrapeMetrics, startServiceChild, type LogSummary } from './lib/service.ts';
import { ratio, round } from './lib/stats.ts';

const opts = options('node bench/fanout.ts [options]', {
  clients: { default: '1000,5000,10000', help: 'client counts, comma-separated' },
  rate: { default: '100', help: 'events/s produced in total (over both topics)' },
  seconds: { default: '30', help: 'measurement window per run' },
  modes: { default: 'shared,per_connection', help: 'service fanout.mode values to run' },
  'per-connection-max': { default: '1000', help: 'largest N run in per_connection mode' },
  'sample-every': { default: '50', help: 'parse latency on every n-th client (2 %)' },
  warmup: { default: '3', help: 'seconds between "events flowing" and the window' },
  limit: { default: 'yes', help: 'run limit-fanout for each N (yes/no)' },
  filtered: { default: 'none', help: `client filters, comma-separated, each a run per mode: ${FILTER_MODES.join(', ')}` },
  ...serviceOptions('fanout', 29092),
});

const clientCounts = numList(opts.clients, 'clients');
const rate = num(opts.rate, 'rate');
const seconds = num(opts.seconds, 'seconds');
const modes = opts.modes.split(',').map((m) => m.trim()).filter((m) => m !== '');
for (const m of modes) if (m !== 'shared' && m !== 'per_connection') throw new Error(`--modes: unknown mode ${m}`);
const perConnectionMax = num(opts['per-connection-max'], 'per-connection-max');
const sampleEvery = Math.max(1, num(opts['sample-every'], 'sample-every'));
const warmup = num(opts.warmup, 'warmup');
const withLimit = opts.limit !== 'no';
const filterModes: FilterMode[] = opts.filtered.split(',').map((f) => f.trim()).filter((f) => f !== '').map((f) => {
  if (!isFilterMode(f)) throw new Error(`--filtered: unknown setting ${f} (${FILTER_MODES.join(', ')})`);
  return f;
});
const kafkaPort = num(opts['kafka-port'], 'kafka-port');
const serviceNodeArgs = nodeArgs(opts['service-node-args']);

const TARGET = { clients: 10_000, rate: 100, p99Ms: 250, rssMiB: 1536, deliveredFraction: 0.99 };
const STREAM_PATH = '/v2/stream/recentchange';

interface RunResult {
  mode: string;
  filtered: FilterMode;
  /** Distinct filter queries the clients used (0 unfiltered). */
  distinctFilters: number;
  clients: number;
  ok: boolean;
  error: string | null;
  connect: ConnectResult | null;
  connectSeconds: number | null;
  flowing: { withEvent: number; open: number; ms: number } | null;
  window: WindowResult | null;
  windowSeconds: number | null;
  producedEvents: number | null;
  producedPerSec: number | null;
  expectedDeliveries: number | null;
  deliveredEventsPerSec: number | null;
  deliveredFraction: number | null;
  deliveredMiBPerSec: number | null;
  serverEventsSentPerSec: number | null;
  kafkaFetchPerSec: number | null;
  kafkaFetchByKindPerSec: Record<string, number> | null;
  kafkaMessagesReadByKind: Record<string, number> | null;
  metricsAvailable: boolean;
  service: ProcWindow | null;
  serviceAfterConnect: ProcWindow | null;
  generator: ProcWindow | null;
  kafka: ProcWindow | null;
  machine: MachineWindow | null;
  /** The benchmark process itself (producer, monitor). */
  bench: ProcWindow | null;
  /** CPU (percent of one core) used by processes that are not part of this run: a noisy machine. */
  otherLoadPct: number | null;
  check: CheckResult | null;
  serviceLogs: LogSummary | null;
  serviceExit: string | null;
  target: { applies: boolean; pass: boolean | null; reasons: string[] };
  vsLimit: { deliveredEventsPerSec: number | null; deliveredMiBPerSec: number | null; p50: number | null; p99: number | null; cpu: number | null } | null;
}

function emptyRun(mode: string, filtered: FilterMode, clients: number, error: string | null): RunResult {
  return {
    mode,
    filtered,
    distinctFilters: 0,
    clients,
    ok: false,
    error,
    connect: null,
    connectSeconds: null,
    flowing: null,
    window: null,
    windowSeconds: null,
    producedEvents: null,
    producedPerSec: null,
    expectedDeliveries: null,
    deliveredEventsPerSec: null,
    deliveredFraction: null,
    deliveredMiBPerSec: null,
    serverEventsSentPerSec: null,
    kafkaFetchPerSec: null,
    kafkaFetchByKindPerSec: null,
    kafkaMessagesReadByKind: null,
    metricsAvailable: false,
    service: null,
    serviceAfterConnect: null,
    generator: null,
    kafka: null,
    machine: null,
    bench: null,
    otherLoadPct: null,
    check: null,
    serviceLogs: null,
    serviceExit: null,
    target: { applies: false, pass: null, reasons: [] },
    vsLimit: null,
  };
}

/** The design as the tables name it: the fan-out mode, and the clients' filters when they have any. */
function design(r: { mode: string; filtered: FilterMode }): string {
  return r.filtered === 'none' ? r.mode : `${r.mode}, filtered ${r.filtered}`;
}

async function runOne(cleanup: Cleanup, brokers: string[], producer: RateProducer, monitor: Monitor, mode: string, filtered: FilterMode, n: number): Promise<RunResult> {
  const label = `fanout-${mode}${filtered === 'none' ? '' : `-${filtered}`}-${n}`;
  const result = emptyRun(mode, filtered, n, null);
  const filters = clientFilters(filtered, n);
  result.distinctFilters = filters?.queries.length ?? 0;
  log(`${label}: starting the service`);
  // Clients connect to an idle stream (connect time = connection setup only); events flow after.
  await producer.pause();
  const service = await startServiceChild(cleanup, label, {
    log_level: opts['log-level'],
    kafka: { brokers },
    streams: RECENTCHANGE_STREAMS,
    fanout: { mode },
  }, serviceNodeArgs);
  result.serviceLogs = service.logs;
  monitor.watch('service', service.pid);
  let gen: LoadGen | null = null;
  try {
    // Filtered clients get few events each: all are parsed, so deliveries are counted exactly.
    const init = { port: service.port, path: STREAM_PATH, sampleEvery: filters === undefined ? sampleEvery : 1, trackAll: false, reconnectOnDrop: true, reconnectDelayMs: 1000 };
    gen = await LoadGen.start(cleanup, filters === undefined ? init : { ...init, filters });
    monitor.watch('generator', gen.pid);
    const connectTimeoutMs = 30_000 + n * 10;
    log(`${label}: connecting ${n} clients (timeout ${Math.round(connectTimeoutMs / 1000)} s)`);
    const c0 = monitor.mark();
    const connect = await gen.request({ type: 'connect', count: n, maxPending: 200, timeoutMs: connectTimeoutMs, headers: {} }, connectTimeoutMs + 30_000);
    const c1 = monitor.mark();
    result.connect = connect;
    result.connectSeconds = round(connect.ms / 1000, 2);
    result.serviceAfterConnect = monitor.proc('service', c0, c1);
    log(`${label}: ${connect.connected}/${n} connected in ${result.connectSeconds} s (statuses ${JSON.stringify(connect.statuses)}, errors ${JSON.stringify(connect.errors)}, timed out ${connect.timedOut})`);
    if (connect.connected === 0) {
      result.error = `no client connected (${JSON.stringify(connect.statuses)} ${JSON.stringify(connect.errors)})`;
      return result;
    }
    producer.setRate(rate);
    result.flowing = await gen.request({ type: 'wait-first-event', timeoutMs: 30_000 }, 40_000);
    if (result.flowing.withEvent < result.flowing.open) log(`${label}: only ${result.flowing.withEvent}/${result.flowing.open} clients got an event within 30 s`);
    await sleep(warmup * 1000);

    const metrics0 = await scrapeMetrics(service.port);
    const m0 = monitor.mark();
    const seq0 = producer.stats.nextSeq;
    await gen.request({ type: 'window-start' }, 10_000);
    log(`${label}: measuring ${seconds} s`);
    await sleep(seconds * 1000);
    const win = await gen.request({ type: 'window-end' }, 30_000);
    const m1 = monitor.mark();
    const seq1 = producer.stats.nextSeq - 1;
    const metrics1 = await scrapeMetrics(service.port);
    const secs = win.ms / 1000;
    result.window = win;
    result.windowSeconds = round(secs, 2);
    result.producedEvents = seq1 - seq0 + 1;
    result.producedPerSec = round(result.producedEvents / secs, 1);
    result.expectedDeliveries = filters === undefined ? result.producedEvents * win.openClients : expectedDeliveries(filters, win.openClients, seq0, seq1);
    result.deliveredEventsPerSec = round(win.estimatedEvents / secs, 0);
    result.deliveredFraction = result.expectedDeliveries > 0 ? round(win.estimatedEvents / result.expectedDeliveries, 4) : null;
    result.deliveredMiBPerSec = round(win.bytes / 2 ** 20 / secs, 1);
    result.metricsAvailable = metrics0 !== null && metrics1 !== null;
    const sent = metricDelta(metrics0, metrics1, 'eventstreams_events_sent_total');
    result.serverEventsSentPerSec = sent === null ? null : round(sent / secs, 0);
    const fetches = metricDelta(metrics0, metrics1, 'eventstreams_kafka_fetch_requests_total');
    result.kafkaFetchPerSec = fetches === null ? null : round(fetches / secs, 1);
    const byKind = metricDeltaBy(metrics0, metrics1, 'eventstreams_kafka_fetch_requests_total', 'kind');
    result.kafkaFetchByKindPerSec = byKind === null ? null : Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, round(v / secs, 1) ?? 0]));
    result.kafkaMessagesReadByKind = metricDeltaBy(metrics0, metrics1, 'eventstreams_kafka_messages_read_total', 'kind');
    result.service = monitor.proc('service', m0, m1);
    result.generator = monitor.proc('generator', m0, m1);
    result.kafka = monitor.proc('kafka', m0, m1);
    result.machine = monitor.machine(m0, m1);
    result.bench = monitor.proc('bench', m0, m1);
    const ours = [result.service, result.generator, result.kafka, result.bench].reduce((a, p) => a + (p.cpuPct ?? 0), 0);
    result.otherLoadPct = round(Math.max(0, result.machine.busyCorePct - ours), 0);
    log(
      `${label}: ${result.deliveredEventsPerSec} events/s delivered (${result.deliveredFraction} of expected), ` +
        `p50 ${win.latencyMs.p50} p99 ${win.latencyMs.p99} max ${win.latencyMs.max} ms, service ${result.service.cpuPct} % CPU ` +
        `${result.service.rssPeakMiB} MiB peak, generator ${result.generator.cpuPct} % (ELU ${win.usage.elu}), machine busy ${result.machine.busyPct} %`,
    );
    await sleep(3000);
    result.check = await gen.request({ type: 'check', fromSeq: seq0, toSeq: seq1, exclude: producer.stats.uncertainSeqs, stride: RECENTCHANGE_TOPICS.length }, 30_000);
    const connectedClients = metricSum(metrics1, 'eventstreams_connected_clients');
    if (connectedClients !== null && connectedClients !== win.openClients) log(`${label}: service reports ${connectedClients} connected clients, generator ${win.openClients}`);
    result.ok = true;
    return result;
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    log(`${label}: ${result.error}`);
    return result;
  } finally {
    result.serviceExit = service.exited();
    if (result.serviceExit !== null) {
      log(`${label}: the service died during the run: ${result.serviceExit}`);
      result.error ??= `service died: ${result.serviceExit}`;
    }
    if (gen !== null) {
      await gen.stop();
      monitor.unwatch('generator');
    }
    await service.stop();
    monitor.unwatch('service');
    await producer.pause();
  }
}

function judge(r: RunResult): void {
  r.target.applies = r.mode === 'shared' && r.filtered === 'none' && r.clients >= TARGET.clients && rate >= TARGET.rate;
  if (!r.target.applies) return;
  const reasons: string[] = [];
  const p99 = r.window?.latencyMs.p99 ?? null;
  const rss = r.service?.rssPeakMiB ?? null;
  if (!r.ok) reasons.push(`run failed: ${r.error}`);
  if ((r.connect?.connected ?? 0) < r.clients) reasons.push(`only ${r.connect?.connected ?? 0}/${r.clients} connected`);
  if (p99 === null || p99 >= TARGET.p99Ms) reasons.push(`p99 ${p99} ms >= ${TARGET.p99Ms}`);
  if (rss === null || rss >= TARGET.rssMiB) reasons.push(`RSS peak ${rss} MiB >= ${TARGET.rssMiB}`);
  if (r.deliveredFraction === null || r.deliveredFraction < TARGET.deliveredFraction) reasons.push(`delivered ${r.deliveredFraction} < ${TARGET.deliveredFraction}`);
  r.target.pass = reasons.length === 0;
  r.target.reasons = reasons;
}

function compareWithLimit(r: RunResult, limit: LimitResult | null): void {
  if (limit === null || !limit.ok || limit.raw === null) return;
  r.vsLimit = {
    deliveredEventsPerSec: ratio(r.deliveredEventsPerSec, limit.deliveredEventsPerSec),
    deliveredMiBPerSec: ratio(r.deliveredMiBPerSec, limit.deliveredMiBPerSec),
    p50: ratio(r.window?.latencyMs.p50, limit.raw.p50),
    p99: ratio(r.window?.latencyMs.p99, limit.raw.p99),
    cpu: ratio(r.service?.cpuPct, limit.raw.serverCpuPct),
  };
}

function markdown(runs: RunResult[], limits: Map<number, LimitResult>, info: ReturnType<typeof machineInfo>): string {
  const rows: Cell[][] = [];
  for (const n of clientCounts) {
    const l = limits.get(n);
    if (l !== undefined) {
      rows.push([
        'limit-fanout (bare Node)',
        n,
        l.raw?.clients ?? null,
        null,
        l.deliveredEventsPerSec,
        l.deliveredFraction,
        l.deliveredMiBPerSec,
        l.ok ? 1 : null,
        l.ok ? 1 : null,
        l.raw?.p50 ?? null,
        l.raw?.p99 ?? null,
        l.raw?.max ?? null,
        l.ok ? 1 : null,
        l.raw?.serverCpuPct ?? null,
        l.raw !== null ? `${l.raw.serverRssMiB}` : null,
        null,
        l.clientCpuPct !== null ? `${l.clientCpuPct} (whole run)` : null,
        null,
        l.ok ? '' : `failed: ${l.error ?? ''}`,
      ]);
    }
    for (const r of runs.filter((x) => x.clients === n)) {
      const w = r.window;
      const notes: string[] = [];
      if (r.target.applies) notes.push(r.target.pass === true ? 'TARGET PASS' : `TARGET FAIL (${r.target.reasons.join('; ')})`);
      if (r.error !== null) notes.push(`error: ${r.error.slice(0, 160)}`);
      if (w !== null && (w.drops > 0 || w.reconnects > 0)) notes.push(`${w.drops} drops`);
      if (r.check !== null && (r.check.missing > 0 || r.check.duplicatesAnywhere > 0)) notes.push(`sampled clients: ${r.check.missing} lost, ${r.check.duplicatesAnywhere} dup`);
      if (r.check !== null && r.check.clientsBehind > 0) notes.push(`${r.check.clientsBehind}/${r.check.clientsChecked} sampled clients >3 s behind`);
      if (w !== null && w.usage.elu > 0.9) notes.push('generator saturated');
      const problems = r.serviceLogs === null ? 0 : Object.values(r.serviceLogs.problems).reduce((a, b) => a + b, 0);
      if (problems > 0) notes.push(`${problems} service warn/error lines`);
      rows.push([
        design(r),
        n,
        r.connect?.connected ?? null,
        r.connectSeconds,
        r.deliveredEventsPerSec,
        r.deliveredFraction,
        r.deliveredMiBPerSec,
        r.vsLimit?.deliveredEventsPerSec ?? null,
        r.vsLimit?.deliveredMiBPerSec ?? null,
        w?.latencyMs.p50 ?? null,
        w?.latencyMs.p99 ?? null,
        w?.latencyMs.max ?? null,
        r.vsLimit?.p99 ?? null,
        r.service !== null ? `${r.service.cpuPct} (sys ${r.service.systemPct})` : null,
        r.service !== null ? `${r.service.rssPeakMiB} / ${r.service.rssEndMiB}` : null,
        r.kafkaFetchPerSec,
        r.generator !== null && w !== null ? `${r.generator.cpuPct} (ELU ${w.usage.elu})` : null,
        r.otherLoadPct,
        notes.join('; '),
      ]);
    }
  }
  const main = table(
    [
      'design',
      'clients',
      'connected',
      'connect s',
      'delivered ev/s',
      'of expected',
      'MiB/s',
      'ev/s vs limit',
      'MiB/s vs limit',
      'p50 ms',
      'p99 ms',
      'max ms',
      'p99 vs limit',
      'service CPU %',
      'service RSS peak/end MiB',
      'Kafka fetch/s',
      'generator CPU %',
      'other load %',
      'notes',
    ],
    rows,
  );
  const pairRows: Cell[][] = [];
  for (const n of clientCounts) for (const filtered of filterModes) {
    const s = runs.find((r) => r.clients === n && r.filtered === filtered && r.mode === 'shared' && r.ok);
    const p = runs.find((r) => r.clients === n && r.filtered === filtered && r.mode === 'per_connection' && r.ok);
    if (s === undefined || p === undefined) continue;
    pairRows.push([
      filtered === 'none' ? n : `${n}, filtered ${filtered}`,
      ratio(p.service?.cpuPct, s.service?.cpuPct),
      ratio(p.service?.rssPeakMiB, s.service?.rssPeakMiB),
      ratio(p.window?.latencyMs.p99, s.window?.latencyMs.p99),
      ratio(p.kafkaFetchPerSec, s.kafkaFetchPerSec),
      ratio(p.kafka?.cpuPct, s.kafka?.cpuPct),
      ratio(p.connectSeconds, s.connectSeconds),
    ]);
  }
  const pairs =
    pairRows.length > 0
      ? `\n\nper_connection / shared at equal N (above 1: per_connection costs more):\n\n${table(['clients', 'service CPU', 'service RSS peak', 'p99 latency', 'Kafka fetch/s', 'Kafka broker CPU', 'connect time'], pairRows)}`
      : '';
  return (
    `## fanout: ${rate} events/s, ${seconds} s windows${filterModes.some((f) => f !== 'none') ? `, clients filtered: ${filterModes.join(', ')}` : ''}\n\n` +
    `${info.date}, node ${info.node}, ${info.cores} cores (${info.cpuModel}), commit ${info.gitCommit ?? '?'}${info.gitDirty === true ? ' + uncommitted src changes' : ''}. ` +
    `Latency = produce (Date.now() before send) to receipt in the generator. "vs limit" = our figure / limit-fanout's in the same run ` +
    `(limit frames are 690 B, ours ~${frameBytes(runs) ?? '?'} B per event incl. HTTP chunking). CPU % is of one core (${info.cores} cores shared by service, generator, Kafka and producer; "sys" = kernel share); "other load" = CPU used by processes outside this run (a noisy machine).\n\n` +
    main +
    pairs +
    filteredComparison(runs, limits) +
    '\n'
  );
}

/** Filtered runs against the unfiltered run of the same N and mode, and both against limit-fanout. */
function filteredComparison(runs: RunResult[], limits: Map<number, LimitResult>): string {
  const rows: Cell[][] = [];
  for (const f of runs.filter((r) => r.filtered !== 'none' && r.ok)) {
    const u = runs.find((r) => r.clients === f.clients && r.mode === f.mode && r.filtered === 'none' && r.ok);
    const limitCpu = limits.get(f.clients)?.raw?.serverCpuPct;
    rows.push([
      design(f),
      f.clients,
      f.distinctFilters,
      f.expectedDeliveries !== null && f.windowSeconds !== null && f.windowSeconds > 0 ? Math.round(f.expectedDeliveries / f.windowSeconds) : null,
      f.deliveredFraction,
      ratio(f.service?.cpuPct, u?.service?.cpuPct),
      ratio(f.service?.rssPeakMiB, u?.service?.rssPeakMiB),
      ratio(f.window?.latencyMs.p50, u?.window?.latencyMs.p50),
      ratio(f.window?.latencyMs.p99, u?.window?.latencyMs.p99),
      ratio(f.service?.cpuPct, limitCpu),
      ratio(u?.service?.cpuPct, limitCpu),
    ]);
  }
  if (rows.length === 0) return '';
  const headers = ['design', 'clients', 'distinct filters', 'expected ev/s', 'of expected', 'service CPU vs unfiltered', 'RSS peak vs unfiltered', 'p50 vs unfiltered', 'p99 vs unfiltered', 'service CPU vs limit', 'unfiltered service CPU vs limit'];
  return `\n\nfiltered / unfiltered at equal N and mode (below 1: filtered clients cost less), and service CPU / limit-fanout's server CPU:\n\n${table(headers, rows)}`;
}

function frameBytes(runs: RunResult[]): number | null {
  const w = runs.find((r) => r.window !== null && r.window.sampledEvents > 0)?.window;
  return w === undefined || w === null ? null : Math.round(w.sampledBytes / w.sampledEvents);
}

function deadlineMs(): number {
  let s = 300;
  for (const n of clientCounts) {
    if (withLimit) s += seconds + n / 200 + 60;
    for (const mode of modes) if (mode === 'shared' || n <= perConnectionMax) s += filterModes.length * (60 + 60 + n / 100 + 40 + warmup + seconds + 120);
  }
  return s * 1000;
}

runMain('fanout', deadlineMs(), async (cleanup) => {
  const info = machineInfo();
  const { kafka, producer, monitor } = await startLiveBench(cleanup, kafkaPort);
  const runs: RunResult[] = [];
  const limits = new Map<number, LimitResult>();
  const save = (): void => {
    const json = {
      benchmark: 'fanout',
      args: { clients: clientCounts, rate, seconds, modes, filtered: filterModes, perConnectionMax, sampleEvery, warmup, withLimit, kafkaPort, logLevel: opts['log-level'] },
      machine: info,
      target: TARGET,
      producer: producer.stats,
      limits: Object.fromEntries(limits),
      runs,
    };
    writeResults(opts.name, json, markdown(runs, limits, info));
  };
  for (const n of clientCounts) {
    if (withLimit) {
      await producer.pause();
      const l = await runLimitFanout(cleanup, n, seconds);
      limits.set(n, l);
      log(`limit-fanout ${n}: ${l.ok ? `${l.deliveredEventsPerSec} events/s delivered, p50 ${l.raw?.p50} p99 ${l.raw?.p99} ms, server ${l.raw?.serverCpuPct} % CPU` : l.error}`);
    }
    for (const mode of modes) {
      if (mode === 'per_connection' && n > perConnectionMax) {
        log(`per_connection ${n}: skipped (above --per-connection-max ${perConnectionMax})`);
        continue;
      }
      for (const filtered of filterModes) {
        let r: RunResult;
        try {
          r = await runOne(cleanup, kafka.brokers, producer, monitor, mode, filtered, n);
        } catch (error) {
          r = emptyRun(mode, filtered, n, error instanceof Error ? error.message : String(error));
          log(`${design(r)} ${n}: ${r.error}`);
        }
        judge(r);
        compareWithLimit(r, limits.get(n) ?? null);
        runs.push(r);
        // Partial results survive a later failure or Ctrl-C.
        save();
      }
    }
  }
  save();
});
