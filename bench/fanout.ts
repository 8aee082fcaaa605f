/**
 * Fan-out benchmark: N SSE clients on one live stream, the service in its own process, the load
 * generator in another, and our bare-Node ceiling (bench/lib/ceiling-server.ts) measured in the
 * same invocation, with the same clients and generator, for the ratios.
 *
 *   node bench/fanout.ts [--clients 1000,2000,5000,10000] [--encodings identity,gzip,mix]
 *                        [--rate 100] [--seconds 30] [--modes shared] [--filtered none]
 *
 * Setup: a fresh local Kafka on 127.0.0.1:--kafka-port (.kafka/bench-<port>) with the two
 * recentchange topics (eqiad/codfw, 1 partition each); a producer writing `--rate` events/s in
 * total (the real recorded recentchange events, each with `bench: {seq, sent_ms}` first); the
 * stream `recentchange` over both topics.
 *
 * For every N and every content coding setting (`--encodings`: identity, gzip, deflate, zstd, or
 * mix = 40 % gzip, 20 % deflate, 20 % zstd, 20 % identity): first the ceiling with the same
 * codings (Kafka producer paused; it frames the same events itself), then for every mode
 * (`shared` by default; `per_connection` only for N <= --per-connection-max) and filter setting a
 * fresh service process. Each gets a fresh generator: the server's idle RSS is read, N clients
 * connect to the idle stream (each sending its `Accept-Encoding`), events start, and after the
 * warm-up a window of `--seconds` measures bytes on every socket and, on every `--sample-every`-th
 * client, the decoded stream (de-chunked, decompressed, SSE-parsed): events, seqs, latency, the
 * bytes it decoded to, and a digest of each event's id and data lines, compared across clients of
 * every coding 3 s after the window. Results: bench/results/<name>.json and .md; the table is
 * printed. Figures only, no assertions: the targets (10,000 clients all delivered, p99 and CPU per
 * event within 1.5x the ceiling's, at most 20 KB of RSS per client) are shown as pass/fail.
 *
 * `--filtered` runs every mode once per filter setting: `none` (the default) as above; `wiki` and
 * `mix` give the clients filters (bench/lib/client-filters.ts), every client is parsed, and the
 * expected deliveries follow from the seqs produced and what each filter matches.
 */
import { Ceiling, type CeilingStats } from './lib/ceiling.ts';
import { clientFilters, expectedDeliveries, FILTER_MODES, isFilterMode, type FilterMode } from './lib/client-filters.ts';
import { codingCounts, codingPattern, ENCODING_SETTINGS, isEncodingSetting, MIX, type EncodingSetting } from './lib/encodings.ts';
import { KafkaHop } from './lib/kafka-hop.ts';
import { LoadGen } from './lib/loadgen-client.ts';
import type { CheckResult, ConnectResult, Percentiles, WindowResult } from './lib/loadgen-protocol.ts';
import { RECENTCHANGE_TOPICS, type RateProducer } from './lib/kafka.ts';
import { readProc, type MachineWindow, type Monitor, type ProcWindow } from './lib/proc.ts';
import { RECENTCHANGE_STREAMS, startLiveBench } from './lib/setup.ts';
import { machineInfo, table, writeResults, type Cell } from './lib/report.ts';
import { log, num, numList, options, runMain, sleep, type Cleanup, nodeArgs, serviceOptions } from './lib/run.ts';
import { histogramQuantile, metricDelta, metricDeltaBy, metricSum, scrapeMetrics, startServiceChild, type LogSummary, type MetricSamples } from './lib/service.ts';
import { ratio, round } from './lib/stats.ts';

const opts = options('node bench/fanout.ts [options]', {
  clients: { default: '1000,2000,5000,10000', help: 'client counts, comma-separated' },
  encodings: { default: 'identity,gzip,mix', help: `content codings the clients ask for, each a ceiling run and a run per mode: ${ENCODING_SETTINGS.join(', ')} (mix = 40 % gzip, 20 % deflate, 20 % zstd, 20 % identity)` },
  rate: { default: '100', help: 'events/s produced in total (over both topics)' },
  seconds: { default: '30', help: 'measurement window per run' },
  modes: { default: 'shared', help: 'service fanout.mode values to run (shared, per_connection)' },
  'per-connection-max': { default: '1000', help: 'largest N run in per_connection mode' },
  'sample-every': { default: '50', help: 'decode and parse every n-th client (2 %)' },
  warmup: { default: '3', help: 'seconds between "events flowing" and the window' },
  'kafka-warmup': { default: '60', help: 'seconds of production before the first run, so no run meets a broker that has just started' },
  ceiling: { default: 'yes', help: 'run the ceiling for each N and coding (yes/no)' },
  'kafka-hop': { default: 'on', help: 'time produce-to-arrival with a bare Kafka consumer in the bench process during every window (on/off); it adds its own fetch per event to the broker in the service runs' },
  'ceiling-kafka': { default: 'idle', help: 'Kafka during ceiling runs: idle (nothing produced) or busy (the producer runs at the same rate, so the machine carries the broker as in the service runs)' },
  filtered: { default: 'none', help: `client filters, comma-separated, each a run per mode: ${FILTER_MODES.join(', ')}` },
  'deflate-level': { default: '6', help: 'gzip/deflate level of the service (compression.deflate_level) and the ceiling' },
  'zstd-level': { default: '3', help: 'zstd level of the service (compression.zstd_level) and the ceiling' },
  'idle-seconds': { default: '2', help: 'seconds a fresh server idles before its idle RSS is read' },
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
const withCeiling = opts.ceiling !== 'no';
const kafkaWarmup = num(opts['kafka-warmup'], 'kafka-warmup');
const filterModes: FilterMode[] = opts.filtered.split(',').map((f) => f.trim()).filter((f) => f !== '').map((f) => {
  if (!isFilterMode(f)) throw new Error(`--filtered: unknown setting ${f} (${FILTER_MODES.join(', ')})`);
  return f;
});
const encodings: EncodingSetting[] = opts.encodings.split(',').map((e) => e.trim()).filter((e) => e !== '').map((e) => {
  if (!isEncodingSetting(e)) throw new Error(`--encodings: unknown setting ${e} (${ENCODING_SETTINGS.join(', ')})`);
  return e;
});
const levels = { deflateLevel: num(opts['deflate-level'], 'deflate-level'), zstdLevel: num(opts['zstd-level'], 'zstd-level') };
const idleSeconds = num(opts['idle-seconds'], 'idle-seconds');
const kafkaPort = num(opts['kafka-port'], 'kafka-port');
const serviceNodeArgs = nodeArgs(opts['service-node-args']);
if (opts['ceiling-kafka'] !== 'idle' && opts['ceiling-kafka'] !== 'busy') throw new Error('--ceiling-kafka: idle or busy');
const ceilingKafkaBusy = opts['ceiling-kafka'] === 'busy';
if (opts['kafka-hop'] !== 'on' && opts['kafka-hop'] !== 'off') throw new Error('--kafka-hop: on or off');
const withKafkaHop = opts['kafka-hop'] === 'on';

/** What the service must reach against the ceiling of the same run (see bench/README.md). */
const TARGET = { clients: 10_000, deliveredFraction: 0.99, p99VsCeiling: 1.5, cpuPerEventVsCeiling: 1.5, kbPerClient: 20 };
const STREAM_PATH = '/v2/stream/recentchange';
const MiB = 2 ** 20;

type Server = 'ceiling' | 'service';

interface Targets {
  /** All N clients connected and >= 99 % of the events delivered (the full target at N >= 10,000). */
  delivered: boolean | null;
  p99: boolean | null;
  cpu: boolean | null;
  memory: boolean | null;
  /** The whole target, for service rows (shared, unfiltered) with N >= 10,000. */
  full: boolean | null;
  reasons: string[];
}

interface RunResult {
  server: Server;
  /** The service's fanout.mode ('ceiling' for the ceiling). */
  mode: string;
  encoding: EncodingSetting;
  filtered: FilterMode;
  /** Distinct filter queries the clients used (0 unfiltered). */
  distinctFilters: number;
  clients: number;
  /** How many clients asked for each coding. */
  clientsByCoding: Record<string, number>;
  ok: boolean;
  error: string | null;
  /** RSS of the fresh server before any client connected. */
  idleRssMiB: number | null;
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
  /** Body bytes on the wire of all clients per second (HTTP chunking included). */
  wireMiBPerSec: number | null;
  /** What those bytes decode to (estimated per coding from the sampled clients). */
  decodedMiBPerSec: number | null;
  /** Wire bytes / decoded bytes of the sampled clients: ~1 identity, the compression ratio otherwise. */
  wireRatio: number | null;
  /** Decoded bytes per event of the sampled clients: the same for ceiling and service when they send the same frames. */
  decodedBytesPerEvent: number | null;
  /** Server CPU (all threads) per delivered event, µs. */
  cpuUsPerEvent: number | null;
  /** (RSS peak in the window − idle RSS) / open clients, KB (1,000 bytes). */
  rssPerClientKB: number | null;
  /**
   * (RSS peak − the RSS peak of the run at the next smaller N, same server and coding) / the clients
   * added, KB: what one more client costs, without the fixed cost of serving at all (V8's young
   * generation grows to its maximum under any load).
   */
  rssAddedPerClientKB: number | null;
  /** The service's V8 heap at the end of the window (used / reserved), MiB: what is live vs what the GC keeps around. */
  heapMiB: { used: number; total: number } | null;
  /**
   * The service's own account of its latency, from its histograms over the window (ms, p50 and p99):
   * how old events were when its reader got them from Kafka, and how long a write pass took.
   */
  eventAgeMs: { p50: number | null; p99: number | null } | null;
  writePassMs: { p50: number | null; p99: number | null } | null;
  /** The service's GC pauses over the window (prom-client's nodejs_gc_duration_seconds): ms per second, and how many took over 10 ms. */
  gc: { msPerSec: number; over10ms: number } | null;
  serverEventsSentPerSec: number | null;
  /** What the service counts as written (eventstreams_bytes_sent_total, compressed as sent, HTTP chunking not included). */
  serverMiBSentPerSec: number | null;
  /** Streams opened by content coding over the service's life (eventstreams_stream_encodings_total). */
  serverStreamsByCoding: Record<string, number> | null;
  /** Deflate histories shared by gzip/deflate groups at the end of the window. */
  sharedHistories: number | null;
  kafkaFetchPerSec: number | null;
  /** Mean duration of the service's fetches (the broker's wait for new data included), ms. */
  kafkaFetchMeanMs: number | null;
  kafkaFetchByKindPerSec: Record<string, number> | null;
  /** Produce-to-arrival latency of a bare Kafka consumer in the same window (bench/lib/kafka-hop.ts): the part of the latency that is Kafka's; null without Kafka (the ceiling). */
  kafkaHopMs: Percentiles | null;
  kafkaMessagesReadByKind: Record<string, number> | null;
  metricsAvailable: boolean;
  /** The server process (service or ceiling) over the window. */
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
  /** The ceiling's own counters at the end of the window. */
  ceilingStats: CeilingStats | null;
  vsCeiling: {
    deliveredEventsPerSec: number | null;
    wireMiBPerSec: number | null;
    wireRatio: number | null;
    p50: number | null;
    p99: number | null;
    cpu: number | null;
    cpuPerEvent: number | null;
  } | null;
  targets: Targets | null;
}

function emptyRun(server: Server, mode: string, encoding: EncodingSetting, filtered: FilterMode, clients: number, error: string | null): RunResult {
  return {
    server,
    mode,
    encoding,
    filtered,
    distinctFilters: 0,
    clients,
    clientsByCoding: codingCounts(clients, codingPattern(encoding), sampleEvery),
    ok: false,
    error,
    idleRssMiB: null,
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
    wireMiBPerSec: null,
    decodedMiBPerSec: null,
    wireRatio: null,
    decodedBytesPerEvent: null,
    cpuUsPerEvent: null,
    rssPerClientKB: null,
    rssAddedPerClientKB: null,
    heapMiB: null,
    eventAgeMs: null,
    writePassMs: null,
    gc: null,
    serverEventsSentPerSec: null,
    serverMiBSentPerSec: null,
    serverStreamsByCoding: null,
    sharedHistories: null,
    kafkaFetchPerSec: null,
    kafkaFetchMeanMs: null,
    kafkaFetchByKindPerSec: null,
    kafkaHopMs: null,
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
    ceilingStats: null,
    vsCeiling: null,
    targets: null,
  };
}

/** The row's name in the tables. */
function design(r: { server: Server; mode: string; filtered: FilterMode }): string {
  if (r.server === 'ceiling') return 'ceiling (bare Node)';
  return r.filtered === 'none' ? r.mode : `${r.mode}, filtered ${r.filtered}`;
}

/** What a run needs of the server under test, the same for the service and the ceiling. */
interface Target {
  pid: number;
  port: number;
  setRate(rate: number): Promise<void>;
  pause(): Promise<void>;
  nextSeq(): Promise<number>;
  uncertainSeqs(): number[];
  metrics(): Promise<MetricSamples | null>;
  exited(): string | null;
  stop(): Promise<unknown>;
}

async function startTarget(cleanup: Cleanup, producer: RateProducer, brokers: string[], server: Server, mode: string, label: string, result: RunResult): Promise<{ target: Target; ceiling: Ceiling | null }> {
  // Clients connect to an idle stream (connect time = connection setup only); events flow after.
  await producer.pause();
  if (server === 'ceiling') {
    const ceiling = await Ceiling.start(cleanup, levels);
    return {
      ceiling,
      target: {
        pid: ceiling.pid,
        port: ceiling.port,
        setRate: async (r) => {
          if (ceilingKafkaBusy) producer.setRate(r);
          await ceiling.setRate(r);
        },
        pause: async () => {
          if (ceilingKafkaBusy) await producer.pause();
          await ceiling.setRate(0);
        },
        nextSeq: async () => (await ceiling.stats()).nextSeq,
        uncertainSeqs: () => [],
        metrics: async () => null,
        exited: () => ceiling.exited(),
        stop: () => ceiling.stop(),
      },
    };
  }
  const service = await startServiceChild(cleanup, label, {
    log_level: opts['log-level'],
    kafka: { brokers },
    streams: RECENTCHANGE_STREAMS,
    fanout: { mode },
    compression: { deflate_level: levels.deflateLevel, zstd_level: levels.zstdLevel },
  }, serviceNodeArgs);
  result.serviceLogs = service.logs;
  return {
    ceiling: null,
    target: {
      pid: service.pid,
      port: service.port,
      setRate: async (r) => producer.setRate(r),
      pause: async () => void (await producer.pause()),
      nextSeq: async () => producer.stats.nextSeq,
      uncertainSeqs: () => producer.stats.uncertainSeqs,
      metrics: () => scrapeMetrics(service.port),
      exited: () => service.exited(),
      stop: () => service.stop(),
    },
  };
}

async function runOne(cleanup: Cleanup, brokers: string[], producer: RateProducer, hop: KafkaHop | null, monitor: Monitor, server: Server, mode: string, encoding: EncodingSetting, filtered: FilterMode, n: number): Promise<RunResult> {
  const label = `fanout-${server === 'ceiling' ? 'ceiling' : mode}-${encoding}${filtered === 'none' ? '' : `-${filtered}`}-${n}`;
  const result = emptyRun(server, server === 'ceiling' ? 'ceiling' : mode, encoding, filtered, n, null);
  const filters = server === 'service' ? clientFilters(filtered, n) : undefined;
  result.distinctFilters = filters?.queries.length ?? 0;
  log(`${label}: starting the ${server}`);
  const { target, ceiling } = await startTarget(cleanup, producer, brokers, server, mode, label, result);
  monitor.watch('service', target.pid);
  let gen: LoadGen | null = null;
  try {
    await sleep(idleSeconds * 1000);
    const idle = readProc(target.pid);
    result.idleRssMiB = idle === null ? null : round(idle.rssBytes / MiB, 1);
    // Filtered clients get few events each: all are parsed, so deliveries are counted exactly.
    // Unfiltered: every parsed client digests its events, compared across codings by `check`.
    const init = {
      port: target.port,
      path: STREAM_PATH,
      sampleEvery: filters === undefined ? sampleEvery : 1,
      trackAll: false,
      reconnectOnDrop: true,
      reconnectDelayMs: 1000,
      encodings: [...codingPattern(encoding)],
      digests: filters === undefined,
    };
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
    log(`${label}: ${connect.connected}/${n} connected in ${result.connectSeconds} s (statuses ${JSON.stringify(connect.statuses)}, codings ${JSON.stringify(connect.codings)}, errors ${JSON.stringify(connect.errors)}, timed out ${connect.timedOut})`);
    if (connect.connected === 0) {
      result.error = `no client connected (${JSON.stringify(connect.statuses)} ${JSON.stringify(connect.errors)})`;
      return result;
    }
    await target.setRate(rate);
    result.flowing = await gen.request({ type: 'wait-first-event', timeoutMs: 30_000 }, 40_000);
    if (result.flowing.withEvent < result.flowing.open) log(`${label}: only ${result.flowing.withEvent}/${result.flowing.open} clients got an event within 30 s`);
    await sleep(warmup * 1000);

    const metrics0 = await target.metrics();
    const m0 = monitor.mark();
    const seq0 = await target.nextSeq();
    hop?.reset();
    await gen.request({ type: 'window-start' }, 10_000);
    log(`${label}: measuring ${seconds} s`);
    await sleep(seconds * 1000);
    const win = await gen.request({ type: 'window-end' }, 30_000);
    const hopMs = hop?.take();
    result.kafkaHopMs = hopMs !== undefined && hopMs.count > 0 ? hopMs : null;
    const m1 = monitor.mark();
    const seq1 = (await target.nextSeq()) - 1;
    const metrics1 = await target.metrics();
    if (ceiling !== null) result.ceilingStats = await ceiling.stats();
    const secs = win.ms / 1000;
    result.window = win;
    result.windowSeconds = round(secs, 2);
    result.producedEvents = seq1 - seq0 + 1;
    result.producedPerSec = round(result.producedEvents / secs, 1);
    // Every client connected is owed every event: one the service shed in the window is owed them too.
    const owed = Math.max(result.connect.connected, win.openClients);
    result.expectedDeliveries = filters === undefined ? result.producedEvents * owed : expectedDeliveries(filters, owed, seq0, seq1);
    result.deliveredEventsPerSec = round(win.estimatedEvents / secs, 0);
    result.deliveredFraction = result.expectedDeliveries > 0 ? round(win.estimatedEvents / result.expectedDeliveries, 4) : null;
    result.wireMiBPerSec = round(win.bytes / MiB / secs, 1);
    result.decodedMiBPerSec = round(win.estimatedDecodedBytes / MiB / secs, 1);
    result.wireRatio = ratio(win.sampledBytes, win.sampledDecodedBytes, 3);
    result.decodedBytesPerEvent = win.sampledEvents > 0 ? Math.round(win.sampledDecodedBytes / win.sampledEvents) : null;
    result.metricsAvailable = metrics0 !== null && metrics1 !== null;
    const sent = metricDelta(metrics0, metrics1, 'eventstreams_events_sent_total');
    result.serverEventsSentPerSec = sent === null ? null : round(sent / secs, 0);
    const sentBytes = metricDelta(metrics0, metrics1, 'eventstreams_bytes_sent_total');
    result.serverMiBSentPerSec = sentBytes === null ? null : round(sentBytes / MiB / secs, 1);
    result.serverStreamsByCoding = metricDeltaBy(new Map(), metrics1, 'eventstreams_stream_encodings_total', 'encoding');
    result.sharedHistories = metricSum(metrics1, 'eventstreams_shared_compression_histories');
    const heapUsed = metricSum(metrics1, 'nodejs_heap_size_used_bytes');
    const heapTotal = metricSum(metrics1, 'nodejs_heap_size_total_bytes');
    result.eventAgeMs = quantilesMs(metrics0, metrics1, 'eventstreams_live_event_age_seconds');
    result.writePassMs = quantilesMs(metrics0, metrics1, 'eventstreams_write_pass_seconds');
    result.gc = gcPauses(metrics0, metrics1, secs);
    result.heapMiB = heapUsed === null || heapTotal === null ? null : { used: round(heapUsed / MiB, 0) ?? 0, total: round(heapTotal / MiB, 0) ?? 0 };
    const fetches = metricDelta(metrics0, metrics1, 'eventstreams_kafka_fetch_requests_total');
    result.kafkaFetchPerSec = fetches === null ? null : round(fetches / secs, 1);
    const fetchSeconds = metricDeltaBy(metrics0, metrics1, 'eventstreams_kafka_request_duration_seconds_sum', 'api')?.fetch;
    const fetchCount = metricDeltaBy(metrics0, metrics1, 'eventstreams_kafka_request_duration_seconds_count', 'api')?.fetch;
    result.kafkaFetchMeanMs = fetchSeconds !== undefined && fetchCount !== undefined && fetchCount > 0 ? round((1000 * fetchSeconds) / fetchCount, 0) : null;
    const byKind = metricDeltaBy(metrics0, metrics1, 'eventstreams_kafka_fetch_requests_total', 'kind');
    result.kafkaFetchByKindPerSec = byKind === null ? null : Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, round(v / secs, 1) ?? 0]));
    result.kafkaMessagesReadByKind = metricDeltaBy(metrics0, metrics1, 'eventstreams_kafka_messages_read_total', 'kind');
    result.service = monitor.proc('service', m0, m1);
    result.generator = monitor.proc('generator', m0, m1);
    result.kafka = monitor.proc('kafka', m0, m1);
    result.machine = monitor.machine(m0, m1);
    result.bench = monitor.proc('bench', m0, m1);
    result.cpuUsPerEvent = result.service.cpuSeconds !== null && win.estimatedEvents > 0 ? round((result.service.cpuSeconds * 1e6) / win.estimatedEvents, 2) : null;
    result.rssPerClientKB =
      result.service.rssPeakMiB !== null && result.idleRssMiB !== null && win.openClients > 0 ? round(((result.service.rssPeakMiB - result.idleRssMiB) * MiB) / 1000 / win.openClients, 1) : null;
    const ours = [result.service, result.generator, result.kafka, result.bench].reduce((a, p) => a + (p.cpuPct ?? 0), 0);
    result.otherLoadPct = round(Math.max(0, result.machine.busyCorePct - ours), 0);
    log(
      `${label}: ${result.deliveredEventsPerSec} events/s delivered (${result.deliveredFraction} of expected), wire ${result.wireMiBPerSec} MiB/s ` +
        `(${result.wireRatio} of decoded), p50 ${win.latencyMs.p50} p99 ${win.latencyMs.p99} max ${win.latencyMs.max} ms, ${server} ${result.service.cpuPct} % CPU ` +
        `(${result.cpuUsPerEvent} µs/event), RSS ${result.service.rssPeakMiB} MiB peak (idle ${result.idleRssMiB}, ${result.rssPerClientKB} KB/client), ` +
        `generator ${result.generator.cpuPct} % (ELU ${win.usage.elu}), machine busy ${result.machine.busyPct} %`,
    );
    await sleep(3000);
    result.check = await gen.request({ type: 'check', fromSeq: seq0, toSeq: seq1, exclude: target.uncertainSeqs(), stride: RECENTCHANGE_TOPICS.length }, 60_000);
    if (result.check.frames !== undefined) {
      const f = result.check.frames;
      log(`${label}: frames compared across ${JSON.stringify(f.clientsByCoding)}: ${f.compared} (seqs ${f.seqsCompared}), ${f.mismatched} differ`);
    }
    const connectedClients = metricSum(metrics1, 'eventstreams_connected_clients');
    if (connectedClients !== null && connectedClients !== win.openClients) log(`${label}: service reports ${connectedClients} connected clients, generator ${win.openClients}`);
    result.ok = true;
    return result;
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    log(`${label}: ${result.error}`);
    return result;
  } finally {
    result.serviceExit = target.exited();
    if (result.serviceExit !== null) {
      log(`${label}: the ${server} died during the run: ${result.serviceExit}`);
      result.error ??= `${server} died: ${result.serviceExit}`;
    }
    if (gen !== null) {
      await gen.stop();
      monitor.unwatch('generator');
    }
    await target.pause().catch(() => undefined);
    await target.stop();
    monitor.unwatch('service');
    await producer.pause();
  }
}

function compareWithCeiling(r: RunResult, c: RunResult | undefined): void {
  if (r.server !== 'service' || c === undefined || !c.ok) return;
  r.vsCeiling = {
    deliveredEventsPerSec: ratio(r.deliveredEventsPerSec, c.deliveredEventsPerSec),
    wireMiBPerSec: ratio(r.wireMiBPerSec, c.wireMiBPerSec),
    wireRatio: ratio(r.wireRatio, c.wireRatio),
    p50: ratio(r.window?.latencyMs.p50, c.window?.latencyMs.p50),
    p99: ratio(r.window?.latencyMs.p99, c.window?.latencyMs.p99),
    cpu: ratio(r.service?.cpuPct, c.service?.cpuPct),
    cpuPerEvent: ratio(r.cpuUsPerEvent, c.cpuUsPerEvent),
  };
}

/** p50 and p99 of a service histogram over the window, ms; null when it observed nothing (or is not the service). */
function quantilesMs(a: MetricSamples | null, b: MetricSamples | null, name: string): { p50: number | null; p99: number | null } | null {
  const ms = (q: number): number | null => {
    const v = histogramQuantile(a, b, name, q);
    return v === null ? null : round(v * 1000, 1);
  };
  const p50 = ms(0.5);
  return p50 === null ? null : { p50, p99: ms(0.99) };
}

/** GC pauses of the service over the window; null without its metrics. */
function gcPauses(a: MetricSamples | null, b: MetricSamples | null, secs: number): { msPerSec: number; over10ms: number } | null {
  const seconds = metricDelta(a, b, 'nodejs_gc_duration_seconds_sum');
  const count = metricDelta(a, b, 'nodejs_gc_duration_seconds_count');
  const upTo10ms = metricDelta(a, b, 'nodejs_gc_duration_seconds_bucket', { le: '0.01' });
  if (seconds === null || count === null || upTo10ms === null) return null;
  return { msPerSec: round((seconds * 1000) / secs, 1) ?? 0, over10ms: count - upTo10ms };
}

/** RSS per client added since the run of the same design and coding at the next smaller N (`rssAddedPerClientKB`). */
function addedPerClient(r: RunResult, runs: readonly RunResult[]): number | null {
  const peak = r.service?.rssPeakMiB;
  const open = r.window?.openClients;
  if (peak === undefined || peak === null || open === undefined) return null;
  const smaller = runs
    .filter((p) => p.server === r.server && p.mode === r.mode && p.encoding === r.encoding && p.filtered === r.filtered && p.clients < r.clients)
    .sort((a, b) => b.clients - a.clients)[0];
  const before = smaller?.service?.rssPeakMiB;
  const openBefore = smaller?.window?.openClients;
  if (before === undefined || before === null || openBefore === undefined || open <= openBefore) return null;
  return round(((peak - before) * MiB) / 1000 / (open - openBefore), 1);
}

/** The targets of a service row: each on its own at every N, the whole at N >= 10,000 (shared, unfiltered). */
function judge(r: RunResult): void {
  if (r.server !== 'service') return;
  const reasons: string[] = [];
  const connected = r.connect?.connected ?? 0;
  const delivered = r.ok && connected >= r.clients && r.deliveredFraction !== null && r.deliveredFraction >= TARGET.deliveredFraction;
  if (!r.ok) reasons.push(`run failed: ${r.error}`);
  else if (!delivered) reasons.push(`${connected}/${r.clients} connected, ${r.deliveredFraction} delivered`);
  const p99 = r.vsCeiling?.p99 ?? null;
  const cpu = r.vsCeiling?.cpuPerEvent ?? null;
  const kb = r.rssPerClientKB;
  if (p99 !== null && p99 > TARGET.p99VsCeiling) reasons.push(`p99 ${p99}x the ceiling's`);
  if (cpu !== null && cpu > TARGET.cpuPerEventVsCeiling) reasons.push(`CPU/event ${cpu}x the ceiling's`);
  if (kb !== null && kb > TARGET.kbPerClient) reasons.push(`${kb} KB/client`);
  const targets: Targets = {
    delivered,
    p99: p99 === null ? null : p99 <= TARGET.p99VsCeiling,
    cpu: cpu === null ? null : cpu <= TARGET.cpuPerEventVsCeiling,
    memory: kb === null ? null : kb <= TARGET.kbPerClient,
    full: null,
    reasons,
  };
  if (r.mode === 'shared' && r.filtered === 'none' && r.clients >= TARGET.clients) {
    targets.full = targets.delivered === true && targets.p99 === true && targets.cpu === true && targets.memory === true;
  }
  r.targets = targets;
}

function flag(ok: boolean | null): string {
  return ok === null ? '–' : ok ? 'pass' : 'FAIL';
}

function targetCell(r: RunResult): string | null {
  const t = r.targets;
  if (t === null) return null;
  return `all ${flag(t.delivered)}, p99 ${flag(t.p99)}, CPU ${flag(t.cpu)}, mem ${flag(t.memory)}`;
}

function notesOf(r: RunResult): string {
  const w = r.window;
  const notes: string[] = [];
  if (r.targets?.full === true) notes.push('TARGET PASS');
  if (r.targets?.full === false) notes.push(`TARGET FAIL (${r.targets.reasons.join('; ')})`);
  if (r.error !== null) notes.push(`error: ${r.error.slice(0, 160)}`);
  if (w !== null && (w.drops > 0 || w.reconnects > 0)) notes.push(`${w.drops} drops`);
  if (r.check !== null && (r.check.missing > 0 || r.check.duplicatesAnywhere > 0)) notes.push(`sampled clients: ${r.check.missing} lost, ${r.check.duplicatesAnywhere} dup`);
  if (r.check !== null && r.check.clientsBehind > 0) notes.push(`${r.check.clientsBehind}/${r.check.clientsChecked} sampled clients >3 s behind`);
  const frames = r.check?.frames;
  if (frames !== undefined && frames.mismatched > 0) notes.push(`${frames.mismatched}/${frames.compared} decoded events differ between clients`);
  const wrongCoding = Object.entries(r.connect?.codings ?? {}).filter(([k]) => k.split('→')[0] !== k.split('→')[1]);
  if (wrongCoding.length > 0) notes.push(`answered in another coding: ${wrongCoding.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if ((r.ceilingStats?.refusedLate ?? 0) > 0) notes.push(`${r.ceilingStats!.refusedLate} late compressed clients refused`);
  const decodeErrors = Object.entries(w?.errors ?? {}).filter(([k]) => k.startsWith('decode'));
  if (decodeErrors.length > 0) notes.push(`decode errors: ${decodeErrors.map(([k, v]) => `${k} ×${v}`).join(', ').slice(0, 160)}`);
  if (w !== null && w.usage.elu > 0.9) notes.push('generator saturated');
  const problems = r.serviceLogs === null ? 0 : Object.values(r.serviceLogs.problems).reduce((a, b) => a + b, 0);
  if (problems > 0) notes.push(`${problems} service warn/error lines`);
  return notes.join('; ');
}

function markdown(runs: RunResult[], info: ReturnType<typeof machineInfo>): string {
  const rows: Cell[][] = [];
  for (const n of clientCounts) {
    for (const r of runs.filter((x) => x.clients === n)) {
      const w = r.window;
      rows.push([
        design(r),
        r.encoding,
        n,
        r.connect?.connected ?? null,
        r.connectSeconds,
        r.deliveredEventsPerSec,
        r.deliveredFraction,
        r.wireMiBPerSec,
        r.decodedMiBPerSec,
        r.wireRatio,
        r.decodedBytesPerEvent,
        w?.latencyMs.p50 ?? null,
        w?.latencyMs.p99 ?? null,
        w?.latencyMs.max ?? null,
        w?.decodeDelayMs.p99 ?? null,
        r.service !== null ? `${r.service.cpuPct} (sys ${r.service.systemPct})` : null,
        r.cpuUsPerEvent,
        r.vsCeiling?.p99 ?? null,
        r.vsCeiling?.cpuPerEvent ?? null,
        r.service !== null ? `${r.service.rssPeakMiB} / ${r.service.rssEndMiB}` : null,
        r.idleRssMiB,
        r.rssPerClientKB,
        r.rssAddedPerClientKB,
        r.heapMiB === null ? null : `${r.heapMiB.used} / ${r.heapMiB.total}`,
        r.kafkaFetchPerSec === null ? null : `${r.kafkaFetchPerSec}${r.kafkaFetchMeanMs === null ? '' : ` (${r.kafkaFetchMeanMs} ms)`}`,
        r.kafkaHopMs === null ? null : `${r.kafkaHopMs.p50} / ${r.kafkaHopMs.p99}`,
        r.eventAgeMs === null ? null : `${r.eventAgeMs.p50} / ${r.eventAgeMs.p99}`,
        r.writePassMs === null ? null : `${r.writePassMs.p50} / ${r.writePassMs.p99}`,
        r.gc === null ? null : `${r.gc.msPerSec} (${r.gc.over10ms})`,
        r.service?.runWaitMsPerSec ?? null,
        r.generator !== null && w !== null ? `${r.generator.cpuPct} (ELU ${w.usage.elu})` : null,
        r.otherLoadPct,
        targetCell(r),
        notesOf(r),
      ]);
    }
  }
  const main = table(
    [
      'server',
      'coding',
      'clients',
      'connected',
      'connect s',
      'delivered ev/s',
      'of expected',
      'wire MiB/s',
      'decoded MiB/s',
      'wire/identity',
      'B/event decoded',
      'p50 ms',
      'p99 ms',
      'max ms',
      'decode p99 ms',
      'CPU %',
      'CPU µs/event',
      'p99 vs ceiling',
      'CPU/event vs ceiling',
      'RSS peak/end MiB',
      'idle RSS MiB',
      'KB/client',
      'KB/client added',
      'heap used / total MiB',
      'Kafka fetch/s (mean ms)',
      'Kafka hop p50/p99 ms',
      'event age p50/p99 ms',
      'write pass p50/p99 ms',
      'GC ms/s (pauses > 10 ms)',
      'waited for a core ms/s',
      'generator CPU %',
      'other load %',
      'targets',
      'notes',
    ],
    rows,
  );
  return (
    `## fanout: ${rate} events/s, ${seconds} s windows, codings ${encodings.join(', ')}${filterModes.some((f) => f !== 'none') ? `, clients filtered: ${filterModes.join(', ')}` : ''}\n\n` +
    `${info.date}, node ${info.node}, ${info.cores} cores (${info.cpuModel}), commit ${info.gitCommit ?? '?'}${info.gitDirty === true ? ' + uncommitted src changes' : ''}. ` +
    `Deflate level ${levels.deflateLevel}, zstd level ${levels.zstdLevel}; mix = ${mixShares()}. ` +
    (serviceNodeArgs.length > 0 ? `The service ran as \`node ${serviceNodeArgs.join(' ')} src/main.ts\`. ` : '') +
    (ceilingKafkaBusy ? 'Kafka busy during the ceiling runs (`--ceiling-kafka busy`): the producer ran at the same rate, so the broker loaded the machine as in the service runs. ' : '') +
    `Latency = produce (Date.now() before send) to the generator's read of the event's last bytes, for every coding; "decode p99" = what the generator's zlib decoders then took (not in the latency). "ceiling" = bench/lib/ceiling-server.ts in the same run with the same codings and clients: ` +
    `the same frames, built and compressed once per tick for all clients. "vs ceiling" = ours / the ceiling's at the same N and coding. ` +
    `CPU % is of one core (${info.cores} cores shared by server, generator, Kafka and producer; "sys" = kernel share); CPU µs/event = server CPU / delivered events; ` +
    `KB/client = (RSS peak − idle RSS) / clients; "KB/client added" = RSS peak growth since the same server and coding at the next smaller N / the clients added: ` +
    `the cost of one more client, without the fixed cost of serving at all (under any load V8 grows its young generation to its maximum, 2 × --max-semi-space-size); "heap" = the service's V8 heap at the window's end, live / reserved. ` +
    (withKafkaHop
      ? `"Kafka hop" = produce to arrival at a bare Kafka consumer in the benchmark process during the same window: the part of our latency that is Kafka's (the ceiling has no Kafka); its fetches load the broker as much as the service's. `
      : 'No bare Kafka consumer timed the hop (`--kafka-hop off`): "event age" is Kafka\'s part. ') +
    `"event age" and "write pass" = the service's own histograms over the window (eventstreams_live_event_age_seconds: how old an event was when its reader got it from Kafka; eventstreams_write_pass_seconds: how long a pass writing every client took), estimated within their buckets. "GC" = the service's garbage-collection pauses over the window (prom-client's nodejs_gc_duration_seconds): milliseconds per second, and in brackets how many took longer than 10 ms. "waited for a core" = how long per second the server's main thread was ready to run but had no core (/proc schedstat run delay: the machine busy with other processes), for the ceiling too. ` +
    `"other load" = CPU used by processes outside this run (a noisy machine). ` +
    `Targets: all = every client connected and ≥ ${TARGET.deliveredFraction * 100} % delivered; p99 and CPU/event ≤ ${TARGET.p99VsCeiling}× the ceiling's; mem ≤ ${TARGET.kbPerClient} KB/client; ` +
    `TARGET = all four, shared, unfiltered, N ≥ ${TARGET.clients.toLocaleString('en-US')}.\n\n` +
    main +
    byCodingTable(runs) +
    pairTable(runs) +
    filteredComparison(runs) +
    '\n'
  );
}

function mixShares(): string {
  const counts = codingCounts(MIX.length, MIX, 1);
  return Object.entries(counts).map(([c, k]) => `${Math.round((100 * k) / MIX.length)} % ${c}`).join(', ');
}

/** Runs whose clients asked for several codings: the figures of each coding's clients. */
function byCodingTable(runs: RunResult[]): string {
  const rows: Cell[][] = [];
  for (const r of runs) {
    const by = r.window?.byCoding;
    if (by === undefined || Object.keys(by).length < 2) continue;
    const secs = r.windowSeconds ?? 0;
    for (const [coding, w] of Object.entries(by)) {
      rows.push([
        design(r),
        r.encoding,
        r.clients,
        coding,
        w.openClients,
        secs > 0 ? round(w.estimatedEvents / secs, 0) : null,
        secs > 0 ? round(w.bytes / MiB / secs, 1) : null,
        ratio(w.sampledBytes, w.sampledDecodedBytes, 3),
        w.sampledClients,
        w.latencyMs.p50,
        w.latencyMs.p99,
        w.decodeDelayMs.p99,
      ]);
    }
  }
  if (rows.length === 0) return '';
  return `\n\nBy coding (runs whose clients asked for several):\n\n${table(['server', 'setting', 'clients', 'coding', 'open', 'delivered ev/s', 'wire MiB/s', 'wire/identity', 'decoded clients', 'p50 ms', 'p99 ms', 'decode p99 ms'], rows)}`;
}

function pairTable(runs: RunResult[]): string {
  const rows: Cell[][] = [];
  for (const n of clientCounts) for (const encoding of encodings) for (const filtered of filterModes) {
    const s = runs.find((r) => r.server === 'service' && r.clients === n && r.encoding === encoding && r.filtered === filtered && r.mode === 'shared' && r.ok);
    const p = runs.find((r) => r.server === 'service' && r.clients === n && r.encoding === encoding && r.filtered === filtered && r.mode === 'per_connection' && r.ok);
    if (s === undefined || p === undefined) continue;
    rows.push([
      `${n}, ${encoding}${filtered === 'none' ? '' : `, filtered ${filtered}`}`,
      ratio(p.service?.cpuPct, s.service?.cpuPct),
      ratio(p.service?.rssPeakMiB, s.service?.rssPeakMiB),
      ratio(p.window?.latencyMs.p99, s.window?.latencyMs.p99),
      ratio(p.kafkaFetchPerSec, s.kafkaFetchPerSec),
      ratio(p.kafka?.cpuPct, s.kafka?.cpuPct),
      ratio(p.connectSeconds, s.connectSeconds),
    ]);
  }
  if (rows.length === 0) return '';
  return `\n\nper_connection / shared at equal N (above 1: per_connection costs more):\n\n${table(['clients', 'service CPU', 'service RSS peak', 'p99 latency', 'Kafka fetch/s', 'Kafka broker CPU', 'connect time'], rows)}`;
}

/** Filtered runs against the unfiltered run of the same N, coding and mode, and both against the ceiling. */
function filteredComparison(runs: RunResult[]): string {
  const rows: Cell[][] = [];
  for (const f of runs.filter((r) => r.server === 'service' && r.filtered !== 'none' && r.ok)) {
    const u = runs.find((r) => r.server === 'service' && r.clients === f.clients && r.encoding === f.encoding && r.mode === f.mode && r.filtered === 'none' && r.ok);
    const ceilingCpu = runs.find((r) => r.server === 'ceiling' && r.clients === f.clients && r.encoding === f.encoding && r.ok)?.service?.cpuPct;
    rows.push([
      design(f),
      f.encoding,
      f.clients,
      f.distinctFilters,
      f.expectedDeliveries !== null && f.windowSeconds !== null && f.windowSeconds > 0 ? Math.round(f.expectedDeliveries / f.windowSeconds) : null,
      f.deliveredFraction,
      ratio(f.service?.cpuPct, u?.service?.cpuPct),
      ratio(f.service?.rssPeakMiB, u?.service?.rssPeakMiB),
      ratio(f.window?.latencyMs.p50, u?.window?.latencyMs.p50),
      ratio(f.window?.latencyMs.p99, u?.window?.latencyMs.p99),
      ratio(f.service?.cpuPct, ceilingCpu),
      ratio(u?.service?.cpuPct, ceilingCpu),
    ]);
  }
  if (rows.length === 0) return '';
  const headers = ['design', 'coding', 'clients', 'distinct filters', 'expected ev/s', 'of expected', 'service CPU vs unfiltered', 'RSS peak vs unfiltered', 'p50 vs unfiltered', 'p99 vs unfiltered', 'service CPU vs ceiling', 'unfiltered service CPU vs ceiling'];
  return `\n\nfiltered / unfiltered at equal N, coding and mode (below 1: filtered clients cost less), and service CPU / the (unfiltered) ceiling's CPU:\n\n${table(headers, rows)}`;
}

function deadlineMs(): number {
  let s = 300;
  const perRun = (n: number): number => idleSeconds + 60 + 60 + n / 100 + 40 + warmup + seconds + 120;
  for (const n of clientCounts) {
    for (const _ of encodings) {
      if (withCeiling) s += perRun(n);
      for (const mode of modes) if (mode === 'shared' || n <= perConnectionMax) s += filterModes.length * perRun(n);
    }
  }
  return s * 1000;
}

runMain('fanout', deadlineMs(), async (cleanup) => {
  const info = machineInfo();
  const { kafka, producer, monitor } = await startLiveBench(cleanup, kafkaPort);
  const hop = withKafkaHop ? await KafkaHop.start(kafka.brokers, RECENTCHANGE_TOPICS) : null;
  if (hop !== null) cleanup.add('kafka hop', () => hop.stop());
  if (kafkaWarmup > 0) {
    // A fresh broker's JVM still compiles its produce and fetch paths: no run should meet that.
    log(`kafka: warming the broker up for ${kafkaWarmup} s`);
    producer.setRate(rate);
    const last = Math.min(10, kafkaWarmup);
    await sleep((kafkaWarmup - last) * 1000);
    hop?.reset();
    await sleep(last * 1000);
    await producer.pause();
    const warm = hop?.take();
    if (warm !== undefined) log(`kafka: warm; hop in the last ${last} s p50 ${warm.p50} p99 ${warm.p99} ms`);
  }
  const runs: RunResult[] = [];
  const save = (): void => {
    const json = {
      benchmark: 'fanout',
      args: { clients: clientCounts, encodings, rate, seconds, modes, filtered: filterModes, perConnectionMax, sampleEvery, warmup, kafkaWarmup, withCeiling, withKafkaHop, ceilingKafkaBusy, levels, idleSeconds, kafkaPort, logLevel: opts['log-level'], serviceNodeArgs },
      mix: MIX,
      machine: info,
      target: TARGET,
      producer: producer.stats,
      runs,
    };
    writeResults(opts.name, json, markdown(runs, info));
  };
  const record = (r: RunResult): void => {
    compareWithCeiling(r, runs.find((c) => c.server === 'ceiling' && c.clients === r.clients && c.encoding === r.encoding));
    r.rssAddedPerClientKB = addedPerClient(r, runs);
    judge(r);
    runs.push(r);
    // Partial results survive a later failure or Ctrl-C.
    save();
  };
  const attempt = async (server: Server, mode: string, encoding: EncodingSetting, filtered: FilterMode, n: number): Promise<RunResult> => {
    try {
      return await runOne(cleanup, kafka.brokers, producer, hop, monitor, server, mode, encoding, filtered, n);
    } catch (error) {
      const r = emptyRun(server, server === 'ceiling' ? 'ceiling' : mode, encoding, filtered, n, error instanceof Error ? error.message : String(error));
      log(`${design(r)} ${encoding} ${n}: ${r.error}`);
      return r;
    }
  };
  for (const n of clientCounts) {
    for (const encoding of encodings) {
      if (withCeiling) record(await attempt('ceiling', 'ceiling', encoding, 'none', n));
      for (const mode of modes) {
        if (mode === 'per_connection' && n > perConnectionMax) {
          log(`per_connection ${n}: skipped (above --per-connection-max ${perConnectionMax})`);
          continue;
        }
        for (const filtered of filterModes) record(await attempt('service', mode, encoding, filtered, n));
      }
    }
  }
  save();
});
