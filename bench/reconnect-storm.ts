/**
 * Reconnect-storm benchmark: every client drops at once and comes back with its Last-Event-ID
 * while events keep flowing; measures how fast all resume and checks exactly-once delivery.
 *
 *   node bench/reconnect-storm.ts [--clients 5000] [--window 5] [--rate 100] [--mode shared]
 *
 * Setup: a fresh local Kafka on 127.0.0.1:29292 (.kafka/bench-29292) with the two recentchange
 * topics (1 partition each), a producer at `--rate` events/s in total (real recorded events with
 * `bench: {seq, sent_ms}` first), a fresh service process, and the load generator process
 * parsing EVERY client: each records the seq of every event it gets and the id of its last
 * complete event.
 *
 * Sequence: connect N clients live to the idle stream, then start producing: the checked
 * interval starts with the first seq produced (A) and every client must get every seq; after `--before` s every client disconnects at the same moment and
 * reconnects at an evenly spread, shuffled time within `--window` s, sending its last id as
 * `Last-Event-ID` (a failed attempt, non-200 or socket error, is counted and retried after 1 s;
 * a client the server drops later resumes the same way and is counted as a drop). Production
 * never stops. `--after` s after the last client resumed, production stops (seq B = the last
 * seq produced) and every client must receive it.
 *
 * Reported: time from the disconnect until every client had its first event after reconnecting,
 * per-client resume latency (reconnect request to first event) p50/p99/max, response statuses
 * and socket errors, and per client over [A, B]: seqs missing (gaps) and seqs received more than
 * once (duplicates) — both must be 0 — plus service CPU/RSS during the storm, the service's
 * catch-up readers, cache hits/misses and Kafka fetches from /metrics, and produce-to-receive
 * latency on every 50th client over the whole run. Results: bench/results/reconnect-storm.json
 * and .md. Figures only, no assertions.
 */
import { LoadGen } from './lib/loadgen-client.ts';
import { RECENTCHANGE_TOPICS } from './lib/kafka.ts';
import { RECENTCHANGE_STREAMS, startLiveBench } from './lib/setup.ts';
import { machineInfo, table, writeResults } from './lib/report.ts';
import { log, num, options, runMain, sleep, nodeArgs, serviceOptions } from './lib/run.ts';
import { metricDelta, metricDeltaBy, metricSum, scrapeMetrics, startServiceChild } from './lib/service.ts';
import { round } from './lib/stats.ts';

const opts = options('node bench/reconnect-storm.ts [options]', {
  clients: { default: '5000', help: 'connected clients' },
  window: { default: '5', help: 'seconds over which the reconnects are spread' },
  rate: { default: '100', help: 'events/s produced in total' },
  mode: { default: 'shared', help: 'service fanout.mode' },
  before: { default: '10', help: 'seconds of steady streaming before the storm' },
  after: { default: '10', help: 'seconds of streaming after all resumed, before production stops' },
  'sample-every': { default: '50', help: 'latency on every n-th client' },
  ...serviceOptions('reconnect-storm', 29292),
});
const clients = Math.floor(num(opts.clients, 'clients'));
const windowS = num(opts.window, 'window');
const rate = num(opts.rate, 'rate');
const beforeS = num(opts.before, 'before');
const afterS = num(opts.after, 'after');
const mode = opts.mode;
if (mode !== 'shared' && mode !== 'per_connection') throw new Error(`--mode: unknown mode ${mode}`);
const connectTimeoutMs = 30_000 + clients * 10;
const stormTimeoutMs = windowS * 1000 + 120_000;

runMain('reconnect-storm', 600_000 + connectTimeoutMs + stormTimeoutMs + (beforeS + afterS) * 1000, async (cleanup) => {
  const info = machineInfo();
  const { kafka, producer, monitor } = await startLiveBench(cleanup, num(opts['kafka-port'], 'kafka-port'));

  const service = await startServiceChild(
    cleanup,
    `storm-${mode}-${clients}`,
    {
      log_level: opts['log-level'],
      kafka: { brokers: kafka.brokers },
      streams: RECENTCHANGE_STREAMS,
      fanout: { mode },
    },
    nodeArgs(opts['service-node-args']),
  );
  monitor.watch('service', service.pid);
  const gen = await LoadGen.start(cleanup, {
    port: service.port,
    path: '/v2/stream/recentchange',
    sampleEvery: Math.max(1, num(opts['sample-every'], 'sample-every')),
    trackAll: true,
    reconnectOnDrop: true,
    reconnectDelayMs: 1000,
  });
  monitor.watch('generator', gen.pid);

  log(`storm: connecting ${clients} clients`);
  const c0 = monitor.mark();
  const connect = await gen.request({ type: 'connect', count: clients, maxPending: 200, timeoutMs: connectTimeoutMs, headers: {} }, connectTimeoutMs + 30_000);
  const c1 = monitor.mark();
  log(`storm: ${connect.connected}/${clients} connected in ${connect.ms} ms (statuses ${JSON.stringify(connect.statuses)}, errors ${JSON.stringify(connect.errors)})`);
  if (connect.connected === 0) throw new Error('no client connected');
  // Every client is connected (live) before the first event: all must get every seq from 0 on.
  const seqA = producer.stats.nextSeq;
  producer.setRate(rate);
  const flowing = await gen.request({ type: 'wait-first-event', timeoutMs: 60_000 }, 70_000);
  if (flowing.withEvent < flowing.open) log(`storm: only ${flowing.withEvent}/${flowing.open} clients got an event within 60 s`);
  await gen.request({ type: 'window-start' }, 10_000);
  const w0 = monitor.mark();
  log(`storm: checked interval starts at seq ${seqA}; ${beforeS} s of steady streaming`);
  await sleep(beforeS * 1000);

  const steady = await gen.request({ type: 'window-end' }, 30_000);
  await gen.request({ type: 'window-start' }, 10_000);
  const metrics0 = await scrapeMetrics(service.port);
  const s0 = monitor.mark();
  log(`storm: all ${flowing.open} clients disconnect now; reconnects spread over ${windowS} s`);
  const storm = await gen.request({ type: 'storm', windowMs: windowS * 1000, timeoutMs: stormTimeoutMs, retryDelayMs: 1000 }, stormTimeoutMs + 30_000);
  const s1 = monitor.mark();
  const metrics1 = await scrapeMetrics(service.port);
  log(
    `storm: ${storm.resumed}/${storm.clients} resumed; all within ${storm.allResumedMs} ms of the disconnect; ` +
      `resume latency p50 ${storm.resumeLatencyMs.p50} p99 ${storm.resumeLatencyMs.p99} max ${storm.resumeLatencyMs.max} ms; statuses ${JSON.stringify(storm.statuses)} errors ${JSON.stringify(storm.errors)}`,
  );

  await sleep(afterS * 1000);
  const seqB = await producer.pause();
  log(`storm: production stopped at seq ${seqB}; waiting for every client to receive it`);
  const reached = await gen.request({ type: 'wait-seq', seq: seqB, timeoutMs: 60_000 }, 90_000);
  const win = await gen.request({ type: 'window-end' }, 30_000);
  const w1 = monitor.mark();
  const metrics2 = await scrapeMetrics(service.port);
  const check = await gen.request({ type: 'check', fromSeq: seqA, toSeq: seqB, exclude: producer.stats.uncertainSeqs, stride: RECENTCHANGE_TOPICS.length }, 120_000);
  log(
    `storm: ${check.clientsChecked} clients checked over seqs ${seqA}..${seqB}: ${check.missing} lost (${check.clientsWithGaps} clients), ` +
      `${check.duplicatesAnywhere} duplicates (${check.clientsWithDuplicates} clients), ${check.clientsBehind} clients still behind (${check.behind} seqs not received yet)`,
  );

  const serviceStorm = monitor.proc('service', s0, s1);
  const serviceAll = monitor.proc('service', w0, w1);
  const generatorAll = monitor.proc('generator', w0, w1);
  const serviceConnect = monitor.proc('service', c0, c1);
  const machineStorm = monitor.machine(s0, s1);
  const result = {
    connect,
    flowing,
    interval: { fromSeq: seqA, toSeq: seqB, events: seqB - seqA + 1, uncertainSeqs: producer.stats.uncertainSeqs.length },
    storm,
    reachedLast: reached,
    check,
    latencySteadyMs: steady.latencyMs,
    /** Includes events produced while clients were away, received after they resumed. */
    latencyStormAndAfterMs: win.latencyMs,
    drops: steady.drops + win.drops,
    reconnectsAfterDrops: steady.reconnects + win.reconnects,
    named: win.named,
    namedExamples: win.namedExamples,
    generatorErrors: win.errors,
    service: { connect: serviceConnect, storm: serviceStorm, wholeRun: serviceAll },
    generator: { wholeRun: generatorAll, eluSteady: steady.usage.elu, eluStormAndAfter: win.usage.elu },
    kafka: { storm: monitor.proc('kafka', s0, s1) },
    machine: { storm: machineStorm, wholeRun: monitor.machine(w0, w1) },
    metrics: {
      available: metrics0 !== null,
      stormFetchesByKind: metricDeltaBy(metrics0, metrics1, 'eventstreams_kafka_fetch_requests_total', 'kind'),
      stormMessagesReadByKind: metricDeltaBy(metrics0, metrics1, 'eventstreams_kafka_messages_read_total', 'kind'),
      stormCacheLookups: metricDeltaBy(metrics0, metrics1, 'eventstreams_cache_lookups_total', 'result'),
      catchUpReadersAfterStorm: metricSum(metrics1, 'eventstreams_catch_up_readers'),
      disconnectsByReason: metricDeltaBy(metrics0, metrics2, 'eventstreams_disconnects_total', 'reason'),
      eventsSentDuringStorm: metricDelta(metrics0, metrics1, 'eventstreams_events_sent_total'),
    },
    serviceLogs: service.logs,
    serviceExit: service.exited(),
    producer: producer.stats,
  };
  const lookups = result.metrics.stormCacheLookups;
  const md =
    `## reconnect storm: ${clients.toLocaleString('en-US')} clients, reconnects over ${windowS} s, ${rate} events/s, mode ${mode}\n\n` +
    `${info.date}, node ${info.node}, ${info.cores} cores (${info.cpuModel}), commit ${info.gitCommit ?? '?'}${info.gitDirty === true ? ' + uncommitted src changes' : ''}. ` +
    `All clients disconnect at once and reconnect with their Last-Event-ID, evenly spread over the window, while production continues. ` +
    `Gaps/duplicates: per client, over the ${result.interval.events.toLocaleString('en-US')} events produced from before the storm until after it (must be 0); ` +
    `a gap is a seq never received although later ones were (lost); "behind at end" = clients that had not received the last seq 60 s after production stopped (lagging). ` +
    `Latency = produce to receipt on every ${opts['sample-every']}th client; storm+after includes events produced while the clients were away.\n\n` +
    table(
      ['clients', 'resumed', 'all resumed after s', 'resume p50 ms', 'resume p99 ms', 'resume max ms', 'attempts', 'non-200', 'socket errors', 'gaps', 'dups', 'clients w/ gaps', 'clients behind at end', 'later drops', 'service CPU % in storm (sys)', 'service RSS peak MiB', 'cache hit/miss', 'steady latency p50 / p99 ms', 'storm+after latency p99 / max ms'],
      [
        [
          storm.clients,
          storm.resumed,
          storm.allResumedMs === null ? null : round(storm.allResumedMs / 1000, 2),
          storm.resumeLatencyMs.p50,
          storm.resumeLatencyMs.p99,
          storm.resumeLatencyMs.max,
          storm.attempts,
          Object.entries(storm.statuses).filter(([s]) => s !== '200').reduce((a, [, n]) => a + n, 0),
          Object.values(storm.errors).reduce((a, n) => a + n, 0),
          check.missing,
          check.duplicatesAnywhere,
          check.clientsWithGaps,
          check.clientsBehind,
          steady.drops + win.drops,
          `${serviceStorm.cpuPct} (${serviceStorm.systemPct})`,
          serviceAll.rssPeakMiB,
          lookups === null ? null : `${lookups.hit ?? 0} / ${lookups.miss ?? 0}`,
          `${steady.latencyMs.p50} / ${steady.latencyMs.p99}`,
          `${win.latencyMs.p99} / ${win.latencyMs.max}`,
        ],
      ],
    ) +
    `\n\nConnect: ${connect.connected}/${clients} in ${round(connect.ms / 1000, 1)} s. Generator: ${generatorAll.cpuPct} % CPU (ELU ${win.usage.elu}); machine busy during the storm ${machineStorm.busyPct} % of ${machineStorm.cores} cores.` +
    (Object.keys(storm.statuses).some((s) => s !== '200') ? ` Reconnect statuses: ${JSON.stringify(storm.statuses)}.` : '') +
    (Object.keys(storm.errors).length > 0 ? ` Socket errors: ${JSON.stringify(storm.errors)}.` : '') +
    (storm.notResumed > 0
      ? ` ${storm.notResumed} clients had no event within ${Math.round(stormTimeoutMs / 1000)} s of the disconnect (${storm.clients - storm.headLatencyMs.count} of them not even a response head).`
      : '') +
    (storm.withoutLastId > 0 ? ` ${storm.withoutLastId} clients had no id yet (reconnected live).` : '') +
    (reached.reached < reached.tracked ? ` Only ${reached.reached}/${reached.tracked} clients received the last seq within 60 s.` : '') +
    (Object.keys(service.logs.problems).length > 0 ? ` Service warnings/errors: ${Object.entries(service.logs.problems).slice(0, 5).map(([k, v]) => `${v} x ${k}`).join('; ')}.` : '') +
    (result.serviceExit !== null ? ` The service exited: ${result.serviceExit}.` : '') +
    '\n';
  writeResults(opts.name, { benchmark: 'reconnect-storm', args: { clients, windowS, rate, mode, beforeS, afterS }, machine: info, result }, md);
  await gen.stop();
  await service.stop();
});
