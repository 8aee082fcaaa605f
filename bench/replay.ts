/**
 * Replay benchmark: one client reads a long history as fast as the service serves it, against the
 * ceiling of reading the same bytes from Kafka on this machine; or (`--mixed yes`) live clients
 * alone and then while several clients replay that history.
 *
 *   node bench/replay.ts [--events 1000000] [--ceiling yes]
 *   node bench/replay.ts --partitions 4 [--lookahead 0] --ceiling no
 *   node bench/replay.ts --mixed yes [--live-clients 1000] [--live-rate 100] [--replays 10]
 *
 * Setup: a local Kafka on 127.0.0.1:29192 whose data is KEPT between runs (.kafka/bench-29192,
 * retention off) and one topic `bench.replay.recentchange` with one partition. Offset 0 is a
 * marker record (key `eventstreams-bench-replay-v1`, value `{"bench":{"marker":...,"sent_ms":T0}}`,
 * timestamp T0); offset k+1 holds event seq k (the real recorded recentchange events, cycled,
 * with `bench: {seq, sent_ms}` first). A re-run reuses what is there and only produces the
 * missing events (batched, as fast as the broker takes them; produce time is reported on its
 * own). Delete .kafka/bench-29192 to start over. Before reading, the topic's log files are read
 * once (the page cache then holds them for both readers, whatever ran before).
 *
 * Measured: a fresh service process (`fanout.mode`, default shared) and ONE client (the load
 * generator process, parsing every event) requesting `/v2/stream/bench-replay?since=T0`; from
 * the request until it has received seq N-1: events/s and MB/s (with and without the time to
 * the first event), that every seq 0..N-1 arrived exactly once, service CPU/RSS, generator CPU
 * (to show the client was not the limit), Kafka fetches by kind from /metrics. The ceiling, in the
 * same invocation just before: bench/lib/limit-replay.ts fetches the same offsets from the same
 * broker with the same library and fetch size and writes the records' bytes to a socket read by
 * another process; ours / ceiling is the figure to compare across machines.
 *
 * Mixed: the service also serves `bench-live` (topic `bench.replay.live`, `--live-rate` events/s
 * from a producer in this process); `--live-clients` clients follow it (a generator process,
 * latency = receipt - produce time on every 10th client). Phase 1: a `--live-seconds` window with
 * the live clients alone. Phase 2: `--replays` clients (another generator, every event checked)
 * each read the history from T0 while the live clients go on; the window lasts until every replay
 * has its last event. Reported per phase: live p50/p99/max, delivered fraction, service CPU; phase
 * 2 / phase 1 latency ratios (target p99 <= 1.5x); the replays' events/s.
 *
 * Partitions (`--partitions N`, N > 1): the topic `bench.replay.recentchange.pN` with N partitions,
 * the marker at partition 0 offset 0 and seq k on partition k % N (each batch of `--batch` events
 * shares a timestamp), so the one client replays N partitions merged in time order (the service's
 * `fanout.replay_lookahead_bytes`, `--lookahead`; 0 = each partition as it is read, as before the
 * merge). The ceiling reads one partition, so it is for N = 1 only.
 *
 * Results: bench/results/replay.json and .md (mixed: replay-mixed.*). Targets shown as pass/fail.
 */
import { spawn } from 'node:child_process';
import { createReadStream, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin } from '@platformatic/kafka';
import { LoadGen } from './lib/loadgen-client.ts';
import type { ClientTimes, ConnectResult, WaitSeqResult, WindowResult } from './lib/loadgen-protocol.ts';
import { benchValue, ensureTopics, loadTemplates, newProducer, RateProducer, startBenchKafka } from './lib/kafka.ts';
import { Monitor, type Mark, type ProcWindow } from './lib/proc.ts';
import { machineInfo, table, writeResults } from './lib/report.ts';
import { log, num, options, runMain, nodeArgs, serviceOptions, sleep, type Cleanup } from './lib/run.ts';
import { metricDelta, metricDeltaBy, metricSum, readFirstEvent, scrapeMetrics, startServiceChild } from './lib/service.ts';
import { ratio, round } from './lib/stats.ts';

const opts = options('node bench/replay.ts [options]', {
  events: { default: '1000000', help: 'events the client must receive (and the topic holds at least)' },
  mode: { default: 'shared', help: 'service fanout.mode' },
  batch: { default: '500', help: 'events per produce request (keep under ~1 MB)' },
  timeout: { default: '900', help: 'seconds the client may take' },
  reconnect: { default: 'no', help: 'yes: resume with Last-Event-ID (after 1 s) when the server drops the client, like EventSource; no: a drop ends the run' },
  ceiling: { default: 'yes', help: 'yes: run the bare reader (bench/lib/limit-replay.ts) on the same range first; ours / ceiling' },
  'fetch-bytes': { default: '', help: 'bytes per catch-up fetch: the service\'s fanout.catch_up_fetch_bytes and the ceiling\'s (default: the service default, 4 MiB)' },
  partitions: { default: '1', help: 'partitions of the replayed topic (N > 1: bench.replay.recentchange.pN, no ceiling)' },
  lookahead: { default: '', help: 'the service\'s fanout.replay_lookahead_bytes (default: the service default; 0 = no time-order merge)' },
  mixed: { default: 'no', help: 'yes: the mixed run (live clients alone, then with concurrent replays) instead' },
  'live-clients': { default: '1000', help: 'mixed: clients following the live stream' },
  'live-rate': { default: '100', help: 'mixed: events/s produced on the live topic' },
  'live-seconds': { default: '20', help: 'mixed: window of phase 1 (live clients alone)' },
  warmup: { default: '3', help: 'mixed: seconds between "events flowing" and phase 1' },
  replays: { default: '10', help: 'mixed: concurrent replays in phase 2' },
  'replay-events': { default: '', help: 'mixed: events each replay reads (default --events)' },
  ...serviceOptions('replay', 29192),
});
const events = Math.floor(num(opts.events, 'events'));
const batch = Math.max(1, Math.floor(num(opts.batch, 'batch')));
const timeoutS = num(opts.timeout, 'timeout');
const kafkaPort = num(opts['kafka-port'], 'kafka-port');
const mode = opts.mode;
if (mode !== 'shared' && mode !== 'per_connection') throw new Error(`--mode: unknown mode ${mode}`);
const mixed = opts.mixed === 'yes';
const fetchBytes = opts['fetch-bytes'] === '' ? null : Math.floor(num(opts['fetch-bytes'], 'fetch-bytes'));
/** The service's default `fanout.catch_up_fetch_bytes` (src/config/schema.ts). */
const SERVICE_FETCH_BYTES = 4 * 1024 * 1024;
const liveClients = Math.floor(num(opts['live-clients'], 'live-clients'));
const liveRate = num(opts['live-rate'], 'live-rate');
const liveSeconds = num(opts['live-seconds'], 'live-seconds');
const warmup = num(opts.warmup, 'warmup');
const replays = Math.max(1, Math.floor(num(opts.replays, 'replays')));
const replayEvents = opts['replay-events'] === '' ? events : Math.floor(num(opts['replay-events'], 'replay-events'));
const partitions = Math.max(1, Math.floor(num(opts.partitions, 'partitions')));
const lookahead = opts.lookahead === '' ? null : Math.floor(num(opts.lookahead, 'lookahead'));
if (partitions > 1 && opts.ceiling === 'yes') throw new Error('--partitions > 1: the ceiling reads one partition; add --ceiling no');
const resultsName = mixed && opts.name === 'replay' ? 'replay-mixed' : opts.name;

const TOPIC = partitions === 1 ? 'bench.replay.recentchange' : `bench.replay.recentchange.p${partitions}`;
const LIVE_TOPIC = 'bench.replay.live';
const MARKER = 'eventstreams-bench-replay-v1';
const TARGET_EVENTS_PER_SEC = 100_000;
const TARGET_MIXED_P99_RATIO = 1.5;
/** Live clients parsed for latency: every 20th (5 %). */
const LIVE_SAMPLE_EVERY = 20;
const LIMIT_TOOL = fileURLToPath(new URL('./lib/limit-replay.ts', import.meta.url));

/** The records the topic holds: its partitions' end offsets added up (`count` partitions). */
async function latestOffset(brokers: string[], topic: string, count = 1): Promise<number> {
  const admin = new Admin({ clientId: 'eventstreams-bench-admin', bootstrapBrokers: brokers, timeout: 10_000 });
  try {
    const indexes = Array.from({ length: count }, (_, partitionIndex) => partitionIndex);
    const res = await admin.listOffsets({ topics: [{ name: topic, partitions: indexes.map((partitionIndex) => ({ partitionIndex, timestamp: -1n })) }] });
    let total = 0;
    for (const index of indexes) {
      const offset = res[0]?.partitions.find((p) => p.partitionIndex === index)?.offset;
      if (offset === undefined) throw new Error(`no offset for ${topic}/${index}`);
      total += Number(offset);
    }
    return total;
  } finally {
    await admin.close().catch(() => undefined);
  }
}

/** Reads the topic's log files once, so that both readers find them in the page cache. */
async function warmPageCache(dataDir: string): Promise<{ bytes: number; seconds: number }> {
  const started = Date.now();
  let bytes = 0;
  for (let partition = 0; partition < partitions; partition++) {
    const dir = join(dataDir, 'data', `${TOPIC}-${partition}`);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.log')).sort()) {
      for await (const chunk of createReadStream(join(dir, file), { highWaterMark: 1 << 20 })) bytes += (chunk as Buffer).length;
    }
  }
  return { bytes, seconds: (Date.now() - started) / 1000 };
}

interface CeilingRaw {
  events: number;
  bytes: number;
  received: number | null;
  error: string | null;
  seconds: number;
  eventsPerSec: number | null;
  mbPerSec: number | null;
  readerCpuSec: number;
  fetches: number;
}

interface CeilingResult {
  ok: boolean;
  error: string | null;
  raw: CeilingRaw | null;
  /** The reader's CPU, percent of one core over its run. */
  readerCpuPct: number | null;
  /** Reader, client and Kafka CPU over its run (/proc). */
  procs: Record<string, ProcWindow> | null;
  machineBusyPct: number | null;
}

/** Runs bench/lib/limit-replay.ts on offsets 1..events of the replay topic. */
async function runCeiling(cleanup: Cleanup, monitor: Monitor, brokers: string[], maxBytes: number): Promise<CeilingResult> {
  log(`ceiling: bare reader of ${events} events, ${maxBytes} bytes per fetch`);
  const child = spawn(process.execPath, [LIMIT_TOOL, brokers[0]!, TOPIC, '1', String(events), String(maxBytes)], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) return { ok: false, error: 'no pid', raw: null, readerCpuPct: null, procs: null, machineBusyPct: null };
  const pgid = child.pid;
  const kill = (): void => {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone
    }
  };
  const remove = cleanup.add(`limit-replay group ${pgid}`, async () => kill());
  monitor.watch('ceiling', pgid);
  const m0 = monitor.mark();
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      kill();
      resolve('timeout');
    }, timeoutS * 1000);
    child.once('exit', (c, s) => {
      clearTimeout(timer);
      resolve(c ?? String(s));
    });
  });
  const m1 = monitor.mark();
  kill();
  remove();
  const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (code !== 0 || line === undefined) return { ok: false, error: `limit-replay ended with ${code}: ${stderr.trim().slice(-500)}`, raw: null, readerCpuPct: null, procs: null, machineBusyPct: null };
  const raw = JSON.parse(line) as CeilingRaw;
  monitor.unwatch('ceiling');
  log(`ceiling: ${raw.events} events in ${round(raw.seconds, 2)} s = ${raw.eventsPerSec} events/s, ${raw.mbPerSec} MB/s, reader CPU ${round(raw.readerCpuSec, 1)} s`);
  return {
    ok: raw.error === null && raw.events === events,
    error: raw.error ?? (raw.events === events ? null : `read ${raw.events} of ${events} events`),
    raw,
    readerCpuPct: raw.seconds > 0 ? round((100 * raw.readerCpuSec) / raw.seconds, 1) : null,
    procs: { kafka: monitor.proc('kafka', m0, m1) },
    machineBusyPct: monitor.machine(m0, m1).busyPct,
  };
}

/** CPU (percent of one core) of processes that are not part of the run, between two marks. */
function otherLoad(monitor: Monitor, m0: Mark, m1: Mark, ours: string[]): number | null {
  const machine = monitor.machine(m0, m1);
  const used = ours.reduce((sum, name) => sum + (monitor.proc(name, m0, m1).cpuPct ?? 0), 0);
  return round(Math.max(0, machine.busyCorePct - used), 0);
}

runMain('replay', (timeoutS + 900) * 1000 * (mixed ? 2 : 1), async (cleanup) => {
  const info = machineInfo();
  const kafka = await startBenchKafka(cleanup, kafkaPort, false);
  await ensureTopics(kafka.brokers, [{ name: TOPIC, partitions }, ...(mixed ? [{ name: LIVE_TOPIC, partitions: 1 }] : [])]);
  const producer = newProducer(kafka.brokers);
  cleanup.add('producer', () => producer.close().catch(() => undefined));
  const needed = Math.max(events, mixed ? replayEvents : 0);

  let latest = await latestOffset(kafka.brokers, TOPIC, partitions);
  if (latest === 0) {
    const t0 = Date.now();
    await producer.send({
      messages: [{ topic: TOPIC, partition: 0, key: Buffer.from(MARKER), timestamp: BigInt(t0), value: Buffer.from(JSON.stringify({ bench: { marker: MARKER, sent_ms: t0 } })) }],
    });
    latest = 1;
    log(`replay: new data set, marker written at ${new Date(t0).toISOString()}`);
  }

  const monitor = new Monitor();
  cleanup.add('monitor', async () => monitor.stop());
  monitor.watch('kafka', kafka.pid);
  monitor.watch('bench', process.pid);
  const streams: Record<string, { topics: string[] }> = { 'bench-replay': { topics: [TOPIC] } };
  if (mixed) streams['bench-live'] = { topics: [LIVE_TOPIC] };
  const service = await startServiceChild(
    cleanup,
    `replay-${mixed ? 'mixed' : mode}`,
    {
      log_level: opts['log-level'],
      kafka: { brokers: kafka.brokers },
      streams,
      fanout: { mode, ...(fetchBytes === null ? {} : { catch_up_fetch_bytes: fetchBytes }), ...(lookahead === null ? {} : { replay_lookahead_bytes: lookahead }) },
    },
    nodeArgs(opts['service-node-args']),
  );
  monitor.watch('service', service.pid);

  // The marker says the topic is ours and gives `since`.
  const first = await readFirstEvent(service.port, '/v2/stream/bench-replay', { 'last-event-id': JSON.stringify([{ topic: TOPIC, partition: 0, offset: 0 }]) });
  const data = first?.data as { bench?: { marker?: string; sent_ms?: number }; meta?: { key?: unknown; offset?: number } } | undefined;
  if (data?.bench?.marker !== MARKER || data.meta?.offset !== 0 || typeof data.bench.sent_ms !== 'number') {
    throw new Error(`${TOPIC} offset 0 is not the bench marker (${JSON.stringify(first).slice(0, 300)}); delete .kafka/bench-${kafkaPort} to start over`);
  }
  const since = data.bench.sent_ms;

  // Seq k is on partition k % N (offset k + 1 with one partition): produce what is missing.
  const have = latest - 1;
  const produce = { reused: Math.min(have, needed), produced: 0, seconds: 0, eventsPerSec: null as number | null, batch };
  if (have < needed) {
    const templates = loadTemplates();
    log(`replay: topic holds ${have} events, producing ${needed - have} more (batches of ${batch})`);
    const started = Date.now();
    let lastLog = started;
    for (let seq = have; seq < needed; seq += batch) {
      const now = Date.now();
      const count = Math.min(batch, needed - seq);
      const messages = [];
      for (let i = 0; i < count; i++) messages.push({ topic: TOPIC, partition: (seq + i) % partitions, timestamp: BigInt(now), value: benchValue(templates, seq + i, now) });
      await producer.send({ messages });
      produce.produced += count;
      if (now - lastLog > 10_000) {
        lastLog = now;
        log(`replay: produced ${seq + count}/${needed}`);
      }
    }
    produce.seconds = round((Date.now() - started) / 1000, 2) ?? 0;
    produce.eventsPerSec = round(produce.produced / Math.max(0.001, produce.seconds), 0);
    log(`replay: produced ${produce.produced} events in ${produce.seconds} s (${produce.eventsPerSec}/s)`);
    const now = await latestOffset(kafka.brokers, TOPIC, partitions);
    if (now !== needed + 1) throw new Error(`${TOPIC} holds ${now} records, expected ${needed + 1} (duplicates?); delete .kafka/bench-${kafkaPort} to start over`);
  } else log(`replay: reusing ${have} events already in ${TOPIC}`);

  const warm = await warmPageCache(kafka.dataDir);
  log(`replay: read ${round(warm.bytes / 2 ** 20, 0)} MiB of log files in ${round(warm.seconds, 1)} s (page cache)`);
  if (mixed) await runMixed(cleanup, monitor, kafka.brokers, service, since, info, produce);
  else await runSingle(cleanup, monitor, kafka.brokers, service, since, info, produce);
  await service.stop();
});

type Service = Awaited<ReturnType<typeof startServiceChild>>;
type Produce = { reused: number; produced: number; seconds: number; eventsPerSec: number | null; batch: number };

async function runSingle(cleanup: Cleanup, monitor: Monitor, brokers: string[], service: Service, since: number, info: ReturnType<typeof machineInfo>, produce: Produce): Promise<void> {
  const ceiling = opts.ceiling === 'yes' ? await runCeiling(cleanup, monitor, brokers, fetchBytes ?? SERVICE_FETCH_BYTES) : null;
  if (ceiling !== null && !ceiling.ok) log(`ceiling: ${ceiling.error}`);

  const gen = await LoadGen.start(cleanup, { port: service.port, path: `/v2/stream/bench-replay?since=${since}`, sampleEvery: 1, trackAll: true, reconnectOnDrop: opts.reconnect === 'yes', reconnectDelayMs: 1000 });
  monitor.watch('generator', gen.pid);
  const metrics0 = await scrapeMetrics(service.port);
  const m0 = monitor.mark();
  await gen.request({ type: 'window-start' }, 10_000);
  log(`replay: one client reading ${events} events from since=${since}`);
  const connect = await gen.request({ type: 'connect', count: 1, maxPending: 1, timeoutMs: 30_000, headers: {} }, 40_000);
  if (connect.connected !== 1) throw new Error(`replay: the client did not connect: ${JSON.stringify(connect)}`);
  const reached = await gen.request({ type: 'wait-seq', seq: events - 1, timeoutMs: timeoutS * 1000 }, (timeoutS + 30) * 1000);
  const win = await gen.request({ type: 'window-end' }, 30_000);
  const m1 = monitor.mark();
  const metrics1 = await scrapeMetrics(service.port);
  const times = await gen.request({ type: 'client-times', index: 0 }, 10_000);
  const check = await gen.request({ type: 'check', fromSeq: 0, toSeq: events - 1, exclude: [], stride: 1 }, 60_000);
  const serviceWin = monitor.proc('service', m0, m1);
  const genWin = monitor.proc('generator', m0, m1);
  const kafkaWin = monitor.proc('kafka', m0, m1);
  const machine = monitor.machine(m0, m1);
  const otherLoadPct = otherLoad(monitor, m0, m1, ['service', 'generator', 'kafka', 'bench']);
  const serviceExit = service.exited();

  const complete = reached.lastReachedAt !== null && times !== null;
  const totalS = complete ? (reached.lastReachedAt! - times!.connectAt) / 1000 : null;
  const streamS = complete && times!.firstEventAt !== null ? (reached.lastReachedAt! - times!.firstEventAt) / 1000 : null;
  const bytesPerEvent = win.sampledEvents > 0 ? win.sampledBytes / win.sampledEvents : null;
  const eventsPerSec = totalS !== null ? round(events / totalS, 0) : null;
  const raw = ceiling?.raw ?? null;
  const vsCeiling = {
    eventsPerSec: ratio(eventsPerSec, raw?.eventsPerSec),
    // CPU per event: how many times the ceiling's reader CPU the service spends on an event.
    cpuPerEvent: serviceWin.cpuSeconds !== null && raw !== null && raw.readerCpuSec > 0 ? ratio(serviceWin.cpuSeconds / events, raw.readerCpuSec / raw.events) : null,
  };
  const result = {
    complete,
    receivedEvents: times?.events ?? null,
    totalSeconds: round(totalS, 3),
    timeToHeadMs: times?.headAt != null && times !== null ? times.headAt - times.connectAt : null,
    timeToFirstEventMs: times?.firstEventAt != null && times !== null ? times.firstEventAt - times.connectAt : null,
    eventsPerSec,
    eventsPerSecAfterFirst: streamS !== null && streamS > 0 ? round(events / streamS, 0) : null,
    bytesPerEvent: round(bytesPerEvent, 0),
    mbPerSec: totalS !== null && bytesPerEvent !== null ? round((events * bytesPerEvent) / 1e6 / totalS, 1) : null,
    gaps: check.missing,
    notReceived: check.behind,
    duplicates: check.duplicatesAnywhere,
    service: serviceWin,
    generator: { ...genWin, elu: win.usage.elu },
    kafka: kafkaWin,
    machine,
    otherLoadPct,
    kafkaFetchesByKind: metricDeltaBy(metrics0, metrics1, 'eventstreams_kafka_fetch_requests_total', 'kind'),
    kafkaMessagesReadByKind: metricDeltaBy(metrics0, metrics1, 'eventstreams_kafka_messages_read_total', 'kind'),
    cacheLookups: metricDeltaBy(metrics0, metrics1, 'eventstreams_cache_lookups_total', 'result'),
    drops: win.drops,
    reconnects: win.reconnects,
    named: win.named,
    namedExamples: win.namedExamples,
    errors: win.errors,
    serviceLogs: service.logs,
    serviceExit,
  };
  const pass = complete && eventsPerSec !== null && eventsPerSec >= TARGET_EVENTS_PER_SEC && check.missing === 0 && check.behind === 0;
  log(`replay: ${complete ? `${events} events in ${result.totalSeconds} s = ${eventsPerSec} events/s, ${result.mbPerSec} MB/s` : `incomplete: ${reached.reached}/${reached.tracked} reached seq ${events - 1}, received ${times?.events}`}`);

  const fetchNote = `catch-up fetches of up to ${(fetchBytes ?? SERVICE_FETCH_BYTES).toLocaleString('en-US')} bytes`;
  const md =
    `## replay: ${events.toLocaleString('en-US')} events, one client, mode ${mode}` +
    `${partitions > 1 ? `, ${partitions} partitions, replay_lookahead_bytes ${lookahead ?? 'default'}` : ''}\n\n` +
    `${info.date}, node ${info.node}, ${info.cores} cores (${info.cpuModel}), commit ${info.gitCommit ?? '?'}${info.gitDirty === true ? ' + uncommitted src changes' : ''}. ` +
    `From the request (\`?since=\` the first event) until seq ${events - 1} arrived; ${fetchNote}. CPU % is of one core; "sys" = kernel share; ` +
    `*other load* = CPU used meanwhile by processes not part of the run (a shared machine).\n\n` +
    table(
      ['reader', 'events', 'complete', 'seconds', 'events/s', 'events/s after 1st', 'MB/s', 'B/event', 'first event ms', 'gaps', 'dups', 'reader CPU % (sys)', 'RSS peak/end MiB', 'client CPU % (ELU)', 'Kafka CPU %', 'other load %', 'target 100k/s'],
      [
        ...(ceiling === null
          ? []
          : [
              [
                'ceiling (bare reader)',
                raw?.events ?? null,
                ceiling.ok,
                round(raw?.seconds, 2),
                raw?.eventsPerSec ?? null,
                null,
                raw?.mbPerSec ?? null,
                raw !== null && raw.events > 0 ? round(raw.bytes / raw.events, 0) : null,
                null,
                null,
                null,
                ceiling.readerCpuPct,
                null,
                null,
                ceiling.procs?.kafka?.cpuPct ?? null,
                null,
                null,
              ],
            ]),
        [
          'eventstreams',
          events,
          complete,
          result.totalSeconds,
          eventsPerSec,
          result.eventsPerSecAfterFirst,
          result.mbPerSec,
          result.bytesPerEvent,
          result.timeToFirstEventMs,
          result.gaps,
          result.duplicates,
          `${serviceWin.cpuPct} (${serviceWin.systemPct})`,
          `${serviceWin.rssPeakMiB} / ${serviceWin.rssEndMiB}`,
          `${genWin.cpuPct} (${win.usage.elu})`,
          kafkaWin.cpuPct,
          otherLoadPct,
          pass ? `PASS (${ratio(eventsPerSec, TARGET_EVENTS_PER_SEC)}x)` : `FAIL (${ratio(eventsPerSec, TARGET_EVENTS_PER_SEC) ?? '–'}x)`,
        ],
      ],
    ) +
    (ceiling === null
      ? ''
      : `\n\n**Ours / ceiling: ${vsCeiling.eventsPerSec ?? '–'}x the events/s** (CPU per event: ${vsCeiling.cpuPerEvent ?? '–'}x the bare reader's). ` +
        `The ceiling (bench/lib/limit-replay.ts) read the same offsets from the same broker just before, with @platformatic/kafka and the same fetch size, and wrote \`data: <value>\\n\\n\` per record to a socket another process read: no decoding, meta, sanitization, ids or HTTP. ` +
        `Its ${raw?.fetches ?? '–'} fetches; ${ceiling.error === null ? '' : `error: ${ceiling.error}; `}machine busy ${ceiling.machineBusyPct} % during it.`) +
    `\n\nProduce: ${produce.reused.toLocaleString('en-US')} events reused, ${produce.produced.toLocaleString('en-US')} produced` +
    (produce.produced > 0 ? ` in ${produce.seconds} s (${produce.eventsPerSec?.toLocaleString('en-US')}/s, batches of ${batch})` : '') +
    `. Kafka fetches during the read: ${JSON.stringify(result.kafkaFetchesByKind)}.` +
    (win.drops > 0 ? ` The server dropped the client ${win.drops} time(s)${opts.reconnect === 'yes' ? ` (it resumed with its Last-Event-ID ${win.reconnects} time(s))` : ' (no reconnect: run ended)'}.` : '') +
    (Object.keys(service.logs.problems).length > 0 ? ` Service warnings/errors: ${Object.entries(service.logs.problems).map(([k, v]) => `${v} x ${k}`).join('; ')}.` : '') +
    (serviceExit !== null ? ` The service exited: ${serviceExit}.` : '') +
    '\n';
  writeResults(
    resultsName,
    { benchmark: 'replay', args: { events, mode, batch, timeoutS, kafkaPort, reconnect: opts.reconnect, fetchBytes: fetchBytes ?? SERVICE_FETCH_BYTES, partitions, lookahead },  machine: info, target: { eventsPerSec: TARGET_EVENTS_PER_SEC }, produce, ceiling, vsCeiling, result, pass },
    md,
  );
  await gen.stop();
}

interface Phase {
  /** The service's event-loop delay over the phase (perf_hooks, via prom-client). */
  eventLoopDelayMs: { p50: number | null; p99: number | null; max: number | null };
  /** Share of the phase the service spent in garbage collection, percent. */
  gcPct: number | null;
  seconds: number;
  window: WindowResult;
  deliveredFraction: number | null;
  service: ProcWindow;
  kafka: ProcWindow;
  generatorLive: ProcWindow;
  generatorReplay: ProcWindow | null;
  machineBusyPct: number;
  otherLoadPct: number | null;
}

async function runMixed(cleanup: Cleanup, monitor: Monitor, brokers: string[], service: Service, since: number, info: ReturnType<typeof machineInfo>, produce: Produce): Promise<void> {
  const live = new RateProducer(brokers, [LIVE_TOPIC], loadTemplates());
  cleanup.add('live producer', () => live.close());
  const genL = await LoadGen.start(cleanup, { port: service.port, path: '/v2/stream/bench-live', sampleEvery: LIVE_SAMPLE_EVERY, trackAll: false, reconnectOnDrop: true, reconnectDelayMs: 1000 });
  monitor.watch('generator-live', genL.pid);
  const ours = ['service', 'kafka', 'bench', 'generator-live', 'generator-replay'];
  log(`mixed: connecting ${liveClients} live clients`);
  const connect = await genL.request({ type: 'connect', count: liveClients, maxPending: 200, timeoutMs: 30_000 + liveClients * 10, headers: {} }, 60_000 + liveClients * 10);
  if (connect.connected < liveClients) log(`mixed: only ${connect.connected}/${liveClients} live clients connected (${JSON.stringify(connect.statuses)})`);
  live.setRate(liveRate);
  const flowing = await genL.request({ type: 'wait-first-event', timeoutMs: 30_000 }, 40_000);
  log(`mixed: ${flowing.withEvent}/${flowing.open} live clients receiving; warm-up ${warmup} s`);
  await sleep(warmup * 1000);
  const firstSeq = live.stats.nextSeq;

  const phase = async (run: () => Promise<void>): Promise<Phase> => {
    const seq0 = live.stats.nextSeq;
    // A scrape resets the service's event-loop delay histogram: the next one covers the phase.
    const before = await scrapeMetrics(service.port);
    const m0 = monitor.mark();
    await genL.request({ type: 'window-start' }, 10_000);
    await run();
    const window = await genL.request({ type: 'window-end' }, 30_000);
    const m1 = monitor.mark();
    const after = await scrapeMetrics(service.port);
    const produced = live.stats.nextSeq - seq0;
    const ms = (name: string) => {
      const v = metricSum(after, name);
      return v === null ? null : round(v * 1000, 1);
    };
    const gcSeconds = metricDelta(before, after, 'nodejs_gc_duration_seconds_sum');
    return {
      eventLoopDelayMs: { p50: ms('nodejs_eventloop_lag_p50_seconds'), p99: ms('nodejs_eventloop_lag_p99_seconds'), max: ms('nodejs_eventloop_lag_max_seconds') },
      gcPct: gcSeconds === null || window.ms <= 0 ? null : round((100 * gcSeconds) / (window.ms / 1000), 1),
      seconds: round(window.ms / 1000, 2) ?? 0,
      window,
      deliveredFraction: produced > 0 && window.openClients > 0 ? round(window.estimatedEvents / (produced * window.openClients), 4) : null,
      service: monitor.proc('service', m0, m1),
      kafka: monitor.proc('kafka', m0, m1),
      generatorLive: monitor.proc('generator-live', m0, m1),
      generatorReplay: m0.procs.has('generator-replay') ? monitor.proc('generator-replay', m0, m1) : null,
      machineBusyPct: monitor.machine(m0, m1).busyPct,
      otherLoadPct: otherLoad(monitor, m0, m1, ours),
    };
  };

  log(`mixed: phase 1, live clients alone for ${liveSeconds} s`);
  const alone = await phase(() => sleep(liveSeconds * 1000));
  log(`mixed: phase 1: live p50 ${alone.window.latencyMs.p50} p99 ${alone.window.latencyMs.p99} ms, service ${alone.service.cpuPct} % CPU`);

  const genR = await LoadGen.start(cleanup, { port: service.port, path: `/v2/stream/bench-replay?since=${since}`, sampleEvery: 1, trackAll: true, reconnectOnDrop: opts.reconnect === 'yes', reconnectDelayMs: 1000 });
  monitor.watch('generator-replay', genR.pid);
  await genR.request({ type: 'window-start' }, 10_000);
  const metrics0 = await scrapeMetrics(service.port);
  const replaying: { connect?: ConnectResult; reached?: WaitSeqResult } = {};
  log(`mixed: phase 2, ${replays} replays of ${replayEvents} events each while the live clients go on`);
  const together = await phase(async () => {
    replaying.connect = await genR.request({ type: 'connect', count: replays, maxPending: replays, timeoutMs: 30_000, headers: {} }, 40_000);
    replaying.reached = await genR.request({ type: 'wait-seq', seq: replayEvents - 1, timeoutMs: timeoutS * 1000 }, (timeoutS + 30) * 1000);
  });
  const reached = replaying.reached ?? null;
  const metrics1 = await scrapeMetrics(service.port);
  const replayWindow = await genR.request({ type: 'window-end' }, 30_000);
  const times: (ClientTimes | null)[] = [];
  for (let i = 0; i < replays; i++) times.push(await genR.request({ type: 'client-times', index: i }, 10_000));
  const replayCheck = await genR.request({ type: 'check', fromSeq: 0, toSeq: replayEvents - 1, exclude: [], stride: 1 }, 120_000);
  const lastSeq = await live.pause();
  await sleep(3000);
  const liveCheck = await genL.request({ type: 'check', fromSeq: firstSeq, toSeq: lastSeq, exclude: live.stats.uncertainSeqs, stride: 1 }, 60_000);
  log(`mixed: phase 2: live p50 ${together.window.latencyMs.p50} p99 ${together.window.latencyMs.p99} ms, service ${together.service.cpuPct} % CPU`);

  const perReplay = times.map((t) => (t !== null && t.watchAt !== null ? round(replayEvents / ((t.watchAt - t.connectAt) / 1000), 0) : null));
  const lastReachedAt = reached?.lastReachedAt ?? null;
  const complete = lastReachedAt !== null;
  const starts = times.filter((t): t is ClientTimes => t !== null).map((t) => t.connectAt);
  const aggregate = lastReachedAt !== null && starts.length > 0 ? round((replays * replayEvents) / ((lastReachedAt - Math.min(...starts)) / 1000), 0) : null;
  const sortedReplay = perReplay.filter((v): v is number => v !== null).sort((a, b) => a - b);
  const ratios = {
    p50: ratio(together.window.latencyMs.p50, alone.window.latencyMs.p50),
    p99: ratio(together.window.latencyMs.p99, alone.window.latencyMs.p99),
    max: ratio(together.window.latencyMs.max, alone.window.latencyMs.max),
    serviceCpu: ratio(together.service.cpuPct, alone.service.cpuPct),
  };
  const pass = complete && ratios.p99 !== null && ratios.p99 <= TARGET_MIXED_P99_RATIO && replayCheck.missing === 0 && liveCheck.missing === 0;
  const row = (name: string, p: Phase, replayRate: number | null, replayElu: number | null) => [
    name,
    p.seconds,
    p.window.openClients,
    p.window.latencyMs.p50,
    p.window.latencyMs.p99,
    p.window.latencyMs.max,
    p.deliveredFraction,
    p.window.drops,
    replayRate,
    `${p.service.cpuPct} (${p.service.systemPct})`,
    `${p.eventLoopDelayMs.p50} / ${p.eventLoopDelayMs.p99} / ${p.eventLoopDelayMs.max}`,
    p.gcPct,
    p.service.rssPeakMiB,
    p.kafka.cpuPct,
    `${p.generatorLive.cpuPct} (${p.window.usage.elu})`,
    p.generatorReplay === null ? null : `${p.generatorReplay.cpuPct} (${replayElu})`,
    p.otherLoadPct,
  ];
  const md =
    `## replay, mixed: ${liveClients.toLocaleString('en-US')} live clients at ${liveRate} events/s, then ${replays} concurrent replays of ${replayEvents.toLocaleString('en-US')} events\n\n` +
    `${info.date}, node ${info.node}, ${info.cores} cores (${info.cpuModel}), commit ${info.gitCommit ?? '?'}${info.gitDirty === true ? ' + uncommitted src changes' : ''}. ` +
    `Live latency = receipt − produce time on every ${LIVE_SAMPLE_EVERY}th live client. Phase 2 lasts until every replay has its last event. CPU % is of one core; ` +
    `generators: CPU % and event-loop utilisation (near 1: the generator was the limit); *other load* = CPU used meanwhile by processes not part of the run.\n\n` +
    table(
      ['phase', 'seconds', 'live clients', 'live p50 ms', 'live p99 ms', 'live max ms', 'live delivered', 'live drops', 'replays ev/s (all)', 'service CPU % (sys)', 'service loop delay p50/p99/max ms', 'service GC %', 'service RSS peak MiB', 'Kafka CPU %', 'live generator CPU % (ELU)', 'replay generator CPU % (ELU)', 'other load %'],
      [row('1: live alone', alone, null, null), row(`2: live + ${replays} replays`, together, aggregate, replayWindow.usage.elu)],
    ) +
    `\n\n**Phase 2 / phase 1: p50 ${ratios.p50 ?? '–'}x, p99 ${ratios.p99 ?? '–'}x** (target p99 ≤ ${TARGET_MIXED_P99_RATIO}x: ${pass ? 'PASS' : 'FAIL'}), max ${ratios.max ?? '–'}x, service CPU ${ratios.serviceCpu ?? '–'}x. ` +
    `Replays: ${complete ? 'all complete' : `incomplete (${(reached as { reached: number } | null)?.reached ?? 0}/${replays} reached the last seq)`}, ` +
    `each ${sortedReplay.length > 0 ? `${sortedReplay[0]!.toLocaleString('en-US')}–${sortedReplay[sortedReplay.length - 1]!.toLocaleString('en-US')}` : '–'} events/s, ` +
    `gaps ${replayCheck.missing}, duplicates ${replayCheck.duplicatesAnywhere}; live clients over both phases: gaps ${liveCheck.missing}, duplicates ${liveCheck.duplicatesAnywhere} (${liveCheck.clientsChecked} checked). ` +
    `Kafka fetches in phase 2: ${JSON.stringify(metricDeltaBy(metrics0, metrics1, 'eventstreams_kafka_fetch_requests_total', 'kind'))}. ` +
    `Produce: ${produce.reused.toLocaleString('en-US')} history events reused, ${produce.produced.toLocaleString('en-US')} produced.` +
    (Object.keys(service.logs.problems).length > 0 ? ` Service warnings/errors: ${Object.entries(service.logs.problems).map(([k, v]) => `${v} x ${k}`).join('; ')}.` : '') +
    '\n';
  writeResults(
    resultsName,
    {
      benchmark: 'replay-mixed',
      args: { liveClients, liveRate, liveSeconds, warmup, replays, replayEvents, mode, kafkaPort, fetchBytes: fetchBytes ?? SERVICE_FETCH_BYTES },
      machine: info,
      target: { p99Ratio: TARGET_MIXED_P99_RATIO },
      produce,
      liveConnect: connect,
      alone,
      together,
      ratios,
      replays: { connect: replaying.connect ?? null, reached, window: replayWindow, aggregateEventsPerSec: aggregate, perReplayEventsPerSec: perReplay, check: replayCheck },
      liveCheck,
      serviceLogs: service.logs,
      pass,
    },
    md,
  );
  await genR.stop();
  await genL.stop();
  await live.close();
}
