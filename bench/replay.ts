/**
 * Replay benchmark: one client reads a long history as fast as the service serves it.
 *
 *   node bench/replay.ts [--events 1000000]
 *
 * Setup: a local Kafka on 127.0.0.1:29192 whose data is KEPT between runs (.kafka/bench-29192,
 * retention off) and one topic `bench.replay.recentchange` with one partition. Offset 0 is a
 * marker record (key `eventstreams-bench-replay-v1`, value `{"bench":{"marker":...,"sent_ms":T0}}`,
 * timestamp T0); offset k+1 holds event seq k (the real recorded recentchange events, cycled,
 * with `bench: {seq, sent_ms}` first). A re-run reuses what is there and only produces the
 * missing events (batched, as fast as the broker takes them; produce time is reported on its
 * own). Delete .kafka/bench-29192 to start over.
 *
 * Measured: a fresh service process (`fanout.mode`, default shared) and ONE client (the load
 * generator process, parsing every event) requesting `/v2/stream/bench-replay?since=T0`; from
 * the request until it has received seq N-1: events/s and MB/s (with and without the time to
 * the first event), that every seq 0..N-1 arrived exactly once, service CPU/RSS, generator CPU
 * (to show the client was not the limit), Kafka fetches by kind from /metrics. Results:
 * bench/results/replay.json and .md. Target shown as pass/fail: 100,000 events/s.
 */
import { Admin } from '@platformatic/kafka';
import { LoadGen } from './lib/loadgen-client.ts';
import { benchValue, ensureTopics, loadTemplates, newProducer, startBenchKafka } from './lib/kafka.ts';
import { Monitor } from './lib/proc.ts';
import { machineInfo, table, writeResults } from './lib/report.ts';
import { log, num, options, runMain, nodeArgs, serviceOptions } from './lib/run.ts';
import { metricDeltaBy, readFirstEvent, scrapeMetrics, startServiceChild } from './lib/service.ts';
import { ratio, round } from './lib/stats.ts';

const opts = options('node bench/replay.ts [options]', {
  events: { default: '1000000', help: 'events the client must receive' },
  mode: { default: 'shared', help: 'service fanout.mode' },
  batch: { default: '500', help: 'events per produce request (keep under ~1 MB)' },
  timeout: { default: '900', help: 'seconds the client may take' },
  reconnect: { default: 'no', help: 'yes: resume with Last-Event-ID (after 1 s) when the server drops the client, like EventSource; no: a drop ends the run' },
  ...serviceOptions('replay', 29192),
});
const events = Math.floor(num(opts.events, 'events'));
const batch = Math.max(1, Math.floor(num(opts.batch, 'batch')));
const timeoutS = num(opts.timeout, 'timeout');
const kafkaPort = num(opts['kafka-port'], 'kafka-port');
const mode = opts.mode;
if (mode !== 'shared' && mode !== 'per_connection') throw new Error(`--mode: unknown mode ${mode}`);

const TOPIC = 'bench.replay.recentchange';
const MARKER = 'eventstreams-bench-replay-v1';
const TARGET_EVENTS_PER_SEC = 100_000;

async function latestOffset(brokers: string[]): Promise<number> {
  const admin = new Admin({ clientId: 'eventstreams-bench-admin', bootstrapBrokers: brokers, timeout: 10_000 });
  try {
    const res = await admin.listOffsets({ topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, timestamp: -1n }] }] });
    const offset = res[0]?.partitions.find((p) => p.partitionIndex === 0)?.offset;
    if (offset === undefined) throw new Error(`no offset for ${TOPIC}/0`);
    return Number(offset);
  } finally {
    await admin.close().catch(() => undefined);
  }
}

runMain('replay', (timeoutS + 900) * 1000, async (cleanup) => {
  const info = machineInfo();
  const kafka = await startBenchKafka(cleanup, kafkaPort, false);
  await ensureTopics(kafka.brokers, [{ name: TOPIC, partitions: 1 }]);
  const producer = newProducer(kafka.brokers);
  cleanup.add('producer', () => producer.close().catch(() => undefined));

  let latest = await latestOffset(kafka.brokers);
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
  const service = await startServiceChild(
    cleanup,
    `replay-${mode}`,
    { log_level: opts['log-level'], kafka: { brokers: kafka.brokers }, streams: { 'bench-replay': { topics: [TOPIC] } }, fanout: { mode } },
    nodeArgs(opts['service-node-args']),
  );
  monitor.watch('service', service.pid);
  monitor.watch('kafka', kafka.pid);

  // The marker says the topic is ours and gives `since`.
  const first = await readFirstEvent(service.port, '/v2/stream/bench-replay', { 'last-event-id': JSON.stringify([{ topic: TOPIC, partition: 0, offset: 0 }]) });
  const data = first?.data as { bench?: { marker?: string; sent_ms?: number }; meta?: { key?: unknown; offset?: number } } | undefined;
  if (data?.bench?.marker !== MARKER || data.meta?.offset !== 0 || typeof data.bench.sent_ms !== 'number') {
    throw new Error(`${TOPIC} offset 0 is not the bench marker (${JSON.stringify(first).slice(0, 300)}); delete .kafka/bench-${kafkaPort} to start over`);
  }
  const since = data.bench.sent_ms;

  // Offset k+1 holds seq k: produce what is missing.
  const have = latest - 1;
  const produce = { reused: Math.min(have, events), produced: 0, seconds: 0, eventsPerSec: null as number | null, batch };
  if (have < events) {
    const templates = loadTemplates();
    log(`replay: topic holds ${have} events, producing ${events - have} more (batches of ${batch})`);
    const started = Date.now();
    let lastLog = started;
    for (let seq = have; seq < events; seq += batch) {
      const now = Date.now();
      const count = Math.min(batch, events - seq);
      const messages = [];
      for (let i = 0; i < count; i++) messages.push({ topic: TOPIC, partition: 0, timestamp: BigInt(now), value: benchValue(templates, seq + i, now) });
      await producer.send({ messages });
      produce.produced += count;
      if (now - lastLog > 10_000) {
        lastLog = now;
        log(`replay: produced ${seq + count}/${events}`);
      }
    }
    produce.seconds = round((Date.now() - started) / 1000, 2) ?? 0;
    produce.eventsPerSec = round(produce.produced / Math.max(0.001, produce.seconds), 0);
    log(`replay: produced ${produce.produced} events in ${produce.seconds} s (${produce.eventsPerSec}/s)`);
    const now = await latestOffset(kafka.brokers);
    if (now !== events + 1) throw new Error(`${TOPIC} ends at offset ${now}, expected ${events + 1} (duplicates?); delete .kafka/bench-${kafkaPort} to start over`);
  } else log(`replay: reusing ${have} events already in ${TOPIC}`);

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
  const serviceExit = service.exited();

  const complete = reached.lastReachedAt !== null && times !== null;
  const totalS = complete ? (reached.lastReachedAt! - times!.connectAt) / 1000 : null;
  const streamS = complete && times!.firstEventAt !== null ? (reached.lastReachedAt! - times!.firstEventAt) / 1000 : null;
  const bytesPerEvent = win.sampledEvents > 0 ? win.sampledBytes / win.sampledEvents : null;
  const eventsPerSec = totalS !== null ? round(events / totalS, 0) : null;
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

  const md =
    `## replay: ${events.toLocaleString('en-US')} events, one client, mode ${mode}\n\n` +
    `${info.date}, node ${info.node}, ${info.cores} cores (${info.cpuModel}), commit ${info.gitCommit ?? '?'}${info.gitDirty === true ? ' + uncommitted src changes' : ''}. ` +
    `From the request (\`?since=\` the first event) until seq ${events - 1} arrived. CPU % is of one core; "sys" = kernel share.\n\n` +
    table(
      ['events', 'complete', 'seconds', 'events/s', 'events/s after 1st', 'MB/s', 'B/event', 'first event ms', 'gaps', 'dups', 'service CPU % (sys)', 'service RSS peak/end MiB', 'client CPU % (ELU)', 'Kafka CPU %', 'machine busy %', 'target 100k/s'],
      [
        [
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
          machine.busyPct,
          pass ? `PASS (${ratio(eventsPerSec, TARGET_EVENTS_PER_SEC)}x)` : `FAIL (${ratio(eventsPerSec, TARGET_EVENTS_PER_SEC) ?? '–'}x)`,
        ],
      ],
    ) +
    `\n\nProduce: ${produce.reused.toLocaleString('en-US')} events reused, ${produce.produced.toLocaleString('en-US')} produced` +
    (produce.produced > 0 ? ` in ${produce.seconds} s (${produce.eventsPerSec?.toLocaleString('en-US')}/s, batches of ${batch})` : '') +
    `. Kafka fetches during the read: ${JSON.stringify(result.kafkaFetchesByKind)}.` +
    (win.drops > 0 ? ` The server dropped the client ${win.drops} time(s)${opts.reconnect === 'yes' ? ` (it resumed with its Last-Event-ID ${win.reconnects} time(s))` : ' (no reconnect: run ended)'}.` : '') +
    (Object.keys(service.logs.problems).length > 0 ? ` Service warnings/errors: ${Object.entries(service.logs.problems).map(([k, v]) => `${v} x ${k}`).join('; ')}.` : '') +
    (serviceExit !== null ? ` The service exited: ${serviceExit}.` : '') +
    '\n';
  writeResults(opts.name, { benchmark: 'replay', args: { events, mode, batch, timeoutS, kafkaPort, reconnect: opts.reconnect }, machine: info, target: { eventsPerSec: TARGET_EVENTS_PER_SEC }, produce, result, pass }, md);
  await gen.stop();
  await service.stop();
});
