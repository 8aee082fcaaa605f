/**
 * Filter cost: what the costliest filters the service admits do to everyone else.
 *
 *   node bench/filter-cost.ts [--attempts 0,1,100,1000] [--plain 1] [--rate 100] [--seconds 15]
 *                             [--burst 10000] [--burst-rate 10000] [--calibrate-ms 400]
 *
 * 1. Calibration, in process, no Kafka: filters of each kind sized to `filters.max_cost` (exact
 *    values, prefix patterns, 6-`*` patterns on the title and on the comment, date-time
 *    comparisons, a `fields` projection, the costliest filter of step 2), each through the
 *    service's own Selections/LiveSelections and EventSelection.select over the 300 recorded
 *    recentchange events (parsed once beforehand, as a feed shares one parse): its cost, its time
 *    per event, and so the nanoseconds a cost unit stands for.
 * 2. End to end: a fresh local Kafka on 127.0.0.1:29692 (.kafka/bench-29692) with the two
 *    recentchange topics, the producer at `--rate` events/s throughout, one service process with
 *    the default `filters` limits (or --max-cost/--max-total-cost), `--plain` unfiltered clients
 *    (every event parsed: latency = receipt - produce time). For each number K of `--attempts`, a
 *    fresh generator asks for K streams, each with a distinct filter of `costliestQuery` at
 *    `max_cost` (it evaluates whole on every event and sends nothing), and counts the answers
 *    (200 accepted, 503 `filter_budget_exhausted`); then, while the accepted ones are open:
 *      - a window of `--seconds` at `--rate`: the plain clients' latency p50/p99/max, events lost,
 *        the service's CPU;
 *      - a burst of `--burst` events produced as fast as `--burst-rate` allows: events/s = burst /
 *        (from its start until every plain client had its last event), the process's throughput;
 *    then the K streams close and the time until the service holds no filter again is recorded.
 * Results: bench/results/filter-cost.{json,md}. Figures only, no assertions.
 */
import { Metrics } from '../src/metrics/registry.ts';
import { RedactedPages } from '../src/sanitize/redacted-pages.ts';
import { Sanitizer } from '../src/sanitize/sanitizer.ts';
import { SuppressionIndex } from '../src/sanitize/suppression-index.ts';
import { SchemaStore } from '../src/catalogue/schemas.ts';
import { eventObject, prepareEvent, type PreparedEvent } from '../src/event/prepared-event.ts';
import { createLogger } from '../src/log.ts';
import type { EventSelection } from '../src/selection/event-selection.ts';
import { LiveSelections } from '../src/selection/live-selections.ts';
import { Selections } from '../src/selection/selections.ts';
import { costliestQuery } from './lib/filter-queries.ts';
import { RECENTCHANGE_TOPICS } from './lib/kafka.ts';
import { LoadGen } from './lib/loadgen-client.ts';
import type { CheckResult, ConnectResult, WindowResult } from './lib/loadgen-protocol.ts';
import type { ProcWindow } from './lib/proc.ts';
import { RECENTCHANGE_STREAM, SCHEMA_BASE, queryCost } from './lib/recentchange-filters.ts';
import { readRecordedEvents } from './lib/recorded-events.ts';
import { machineInfo, table, writeResults, type Cell } from './lib/report.ts';
import { log, nodeArgs, num, numList, options, runMain, serviceOptions, sleep } from './lib/run.ts';
import { metricSum, scrapeMetrics, startServiceChild, type ServiceChild } from './lib/service.ts';
import { startCheckedClients, startLiveBench } from './lib/setup.ts';
import { ratio, round } from './lib/stats.ts';

/** The service's defaults (src/config/schema.ts `filters`). */
const DEFAULT_MAX_COST = 2000;
const DEFAULT_MAX_TOTAL_COST = 100_000;

const opts = options('node bench/filter-cost.ts [options]', {
  attempts: { default: '0,1,100,1000', help: 'streams asked for with distinct filters at max_cost, per phase (0 = none: the baseline)' },
  plain: { default: '1', help: 'unfiltered clients (every event parsed; more than a few cannot parse a burst as fast as it comes)' },
  rate: { default: '100', help: 'events/s produced in steady state' },
  seconds: { default: '15', help: 'seconds of each latency window' },
  burst: { default: '10000', help: 'events of each throughput burst' },
  'burst-rate': { default: '10000', help: 'events/s the producer is asked for during a burst (much more makes its batches too large for Kafka)' },
  'calibrate-ms': { default: '400', help: 'timed milliseconds per filter kind in the calibration' },
  'max-cost': { default: String(DEFAULT_MAX_COST), help: 'service filters.max_cost' },
  'max-total-cost': { default: String(DEFAULT_MAX_TOTAL_COST), help: 'service filters.max_total_cost' },
  ...serviceOptions('filter-cost', 29692),
});
const attempts = numList(opts.attempts, 'attempts').map(Math.floor);
const plain = Math.max(1, Math.floor(num(opts.plain, 'plain')));
const rate = num(opts.rate, 'rate');
const seconds = num(opts.seconds, 'seconds');
const burst = Math.max(1, Math.floor(num(opts.burst, 'burst')));
const burstRate = num(opts['burst-rate'], 'burst-rate');
const calibrateMs = num(opts['calibrate-ms'], 'calibrate-ms');
const maxCost = Math.floor(num(opts['max-cost'], 'max-cost'));
const maxTotalCost = Math.floor(num(opts['max-total-cost'], 'max-total-cost'));

const pair = (i: number): string => (i % 1296).toString(36).padStart(2, '0');
const list = (n: number, value: (i: number) => string): string => Array.from({ length: n }, (_, i) => value(i)).join(',');

/** Kinds of filters, each sized (n) to the largest that costs at most max_cost. */
const KINDS: { kind: string; max: number; query: (n: number) => string }[] = [
  { kind: 'exact titles', max: 1000, query: (n) => `title=${list(n, (i) => `Some page title ${i}`)}` },
  { kind: 'prefix patterns (title)', max: 1000, query: (n) => `title=${list(n, (i) => `User talk:${i}*`)}` },
  { kind: '6-`*` patterns (title)', max: 1000, query: (n) => `title=${list(n, (i) => `*a*e*i*o*${pair(i)}*`)}` },
  { kind: '6-`*` patterns (comment)', max: 1000, query: (n) => `comment=${list(n, (i) => `*a*e*i*o*${pair(i)}*`)}` },
  { kind: 'date-time comparisons', max: 32, query: (n) => Array.from({ length: n }, (_, i) => `meta.dt>=${2001 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}-01`).join('&') },
  {
    kind: '`fields` projection',
    max: 100,
    query: (n) => {
      const real = ['meta', 'title', 'user', 'comment', 'parsedcomment', 'wiki', 'type', 'namespace', 'length', 'revision', 'server_name', 'timestamp', 'bot', 'minor', 'id'];
      return `fields=${list(n, (i) => real[i] ?? `log_params.f${i}`)}`;
    },
  },
];

interface Calibration {
  kind: string;
  count: number;
  cost: number;
  usPerEvent: number;
  nsPerUnit: number | null;
}

function largestFitting(max: number, query: (n: number) => string): number {
  let [low, high] = [1, max];
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (queryCost(query(mid)) <= maxCost) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** Nanoseconds per event of `selection` over `events` (median of 5 timed runs of ~calibrateMs/5). */
function timePerEvent(selection: EventSelection, events: readonly PreparedEvent[]): number {
  const pass = (): void => {
    for (const event of events) selection.select(event);
  };
  for (let i = 0; i < 20; i++) pass();
  let passes = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < passes; i++) pass();
    if (performance.now() - t0 >= calibrateMs / 5) break;
    passes *= 2;
  }
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < passes; i++) pass();
    runs.push(((performance.now() - t0) * 1e6) / (passes * events.length));
  }
  return runs.sort((a, b) => a - b)[2] ?? 0;
}

async function calibrate(costliest: string): Promise<Calibration[]> {
  const logger = createLogger('warn', false);
  const sanitizer = new Sanitizer(new SuppressionIndex(1), new RedactedPages({}), () => undefined, new Metrics(), logger);
  const selections = new Selections(new SchemaStore([SCHEMA_BASE]), sanitizer, maxCost, logger);
  const live = new LiveSelections(Infinity);
  const events = readRecordedEvents().map((event, offset) =>
    prepareEvent({ topic: RECENTCHANGE_STREAM.topics[0] ?? '', partition: 0, offset, timestamp: 0, key: null, value: Buffer.from(JSON.stringify(event)) }, 4 << 20),
  );
  // A feed parses each event once for all its selections: parsed beforehand (held weakly by the events), held here until the end.
  const parsed = events.map(eventObject);
  const selectionOf = async (query: string): Promise<EventSelection> => {
    const checked = await selections.check([RECENTCHANGE_STREAM], query);
    if (!checked.ok) throw new Error(`${query.slice(0, 80)}: ${checked.problem.message}`);
    const acquired = live.acquire(checked.candidate);
    if (!acquired.ok) throw new Error('over the budget');
    return acquired.lease.selection;
  };
  const baseNs = timePerEvent(await selectionOf(''), events);
  const rows: Calibration[] = [];
  for (const { kind, query, count } of [
    ...KINDS.map((k) => ({ kind: k.kind, query: k.query(largestFitting(k.max, k.query)), count: largestFitting(k.max, k.query) })),
    { kind: 'costliest (step 2)', query: costliest, count: null },
  ]) {
    const cost = queryCost(query);
    const ns = timePerEvent(await selectionOf(query), events) - baseNs;
    rows.push({ kind, count: count ?? 0, cost, usPerEvent: round(ns / 1000, 2) ?? 0, nsPerUnit: ratio(ns, cost, 1) });
    log(`calibration: ${kind}: ${count ?? '-'} x, cost ${cost}, ${round(ns / 1000, 2)} µs/event, ${ratio(ns, cost, 1)} ns/unit`);
  }
  parsed.length = 0;
  return rows;
}

interface Phase {
  attempted: number;
  connect: ConnectResult | null;
  accepted: number;
  refused: number;
  liveSelections: number | null;
  filterCost: number | null;
  window: WindowResult;
  check: CheckResult;
  serviceCpuPct: number | null;
  otherLoadPct: number;
  burst: { events: number; producedMs: number | null; deliveredMs: number | null; eventsPerSec: number | null; producerEventsPerSec: number | null; latencyP99Ms: number | null; plainDrops: number };
  releasedAfterMs: number | null;
}

async function gauges(service: ServiceChild): Promise<{ selections: number | null; cost: number | null }> {
  const m = await scrapeMetrics(service.port);
  return { selections: metricSum(m, 'eventstreams_live_selections'), cost: metricSum(m, 'eventstreams_filter_cost') };
}

runMain('filter-cost', (attempts.length * (seconds + 300) + 600) * 1000, async (cleanup) => {
  const info = machineInfo();
  const costliest = (tag: string): string => costliestQuery(tag, maxCost, queryCost);
  const calibration = await calibrate(costliest('calibration'));

  const { kafka, producer, monitor } = await startLiveBench(cleanup, num(opts['kafka-port'], 'kafka-port'));
  const service = await startServiceChild(
    cleanup,
    'filter-cost',
    {
      log_level: opts['log-level'],
      kafka: { brokers: kafka.brokers },
      streams: { 'mediawiki.recentchange': { topics: RECENTCHANGE_TOPICS, stream_aliases: ['recentchange'], schema_title: 'mediawiki/recentchange' } },
      schema_base_uris: [SCHEMA_BASE],
      filters: { max_cost: maxCost, max_total_cost: maxTotalCost },
    },
    nodeArgs(opts['service-node-args']),
  );
  monitor.watch('service', service.pid);
  const path = '/v2/stream/recentchange';
  const plainGen = await startCheckedClients(cleanup, monitor, 'plain generator', service.port, path);
  const plainConnect = await plainGen.request({ type: 'connect', count: plain, maxPending: 50, timeoutMs: 30_000, headers: {} }, 60_000);
  if (plainConnect.connected !== plain) throw new Error(`plain clients: ${plainConnect.connected}/${plain} connected`);
  producer.setRate(rate);
  await plainGen.request({ type: 'wait-first-event', timeoutMs: 60_000 }, 70_000);
  await sleep(3000);

  const phases: Phase[] = [];
  for (const k of attempts) {
    let filteredGen: LoadGen | null = null;
    let connect: ConnectResult | null = null;
    if (k > 0) {
      const queries = Array.from({ length: k }, (_, i) => costliest(`k${k}n${String(i).padStart(4, '0')}`));
      filteredGen = await LoadGen.start(cleanup, {
        port: service.port,
        path,
        sampleEvery: 1_000_000_000,
        trackAll: false,
        reconnectOnDrop: false,
        reconnectDelayMs: 1000,
        // They match none of the events: nobody waits for their events.
        filters: { queries, matches: queries.map(() => []), templates: readRecordedEvents().length },
      });
      monitor.watch('filtered generator', filteredGen.pid);
      // With problem+json accepted a refusal is its real 503, not an event-stream retry.
      connect = await filteredGen.request({ type: 'connect', count: k, maxPending: 50, timeoutMs: 120_000, headers: { accept: 'application/problem+json' } }, 150_000);
      log(`K=${k}: ${connect.connected} accepted, statuses ${JSON.stringify(connect.statuses)} in ${connect.ms} ms`);
    }
    const held = await gauges(service);
    await sleep(2000);

    const ours = ['service', 'plain generator', 'filtered generator', 'kafka', 'bench'];
    const fromSeq = producer.stats.nextSeq;
    await plainGen.request({ type: 'window-start' }, 10_000);
    const m0 = monitor.mark();
    await sleep(seconds * 1000);
    const window = await plainGen.request({ type: 'window-end' }, 30_000);
    const m1 = monitor.mark();
    const toSeq = producer.stats.nextSeq - 1;
    await sleep(2000);
    const check = await plainGen.request({ type: 'check', fromSeq, toSeq, exclude: producer.stats.uncertainSeqs, stride: RECENTCHANGE_TOPICS.length }, 60_000);
    const proc: ProcWindow = monitor.proc('service', m0, m1);

    // Throughput: a burst as fast as the producer goes, until every plain client has its last event.
    await plainGen.request({ type: 'window-start' }, 10_000);
    const burstFrom = producer.stats.nextSeq;
    const burstStart = Date.now();
    producer.setRate(burstRate);
    while (producer.stats.nextSeq - burstFrom < burst) await sleep(5);
    producer.setRate(rate);
    const burstTo = producer.stats.nextSeq - 1;
    let producedAt: number | null = null;
    while (producedAt === null && Date.now() - burstStart < 60_000) {
      if (producer.stats.produced + producer.stats.uncertainSeqs.length >= burstTo + 1) producedAt = Date.now();
      else await sleep(5);
    }
    const reached = await plainGen.request({ type: 'wait-seq', seq: burstTo, timeoutMs: 60_000 }, 70_000);
    const burstWindow = await plainGen.request({ type: 'window-end' }, 30_000);
    const events = burstTo - burstFrom + 1;
    if (producer.stats.uncertainSeqs.some((seq) => seq >= burstFrom)) throw new Error(`the producer failed during the burst: ${producer.stats.lastError}`);
    const deliveredMs = reached.lastReachedAt === null ? null : reached.lastReachedAt - burstStart;
    const producedMs = producedAt === null ? null : producedAt - burstStart;

    let releasedAfterMs: number | null = null;
    if (filteredGen !== null) {
      const closing = Date.now();
      await filteredGen.stop();
      monitor.unwatch('filtered generator');
      while (Date.now() - closing < 30_000) {
        const g = await gauges(service);
        if (g.selections === 1 && g.cost === 0) {
          releasedAfterMs = Date.now() - closing;
          break;
        }
        await sleep(50);
      }
    }
    const phase: Phase = {
      attempted: k,
      connect,
      accepted: connect?.connected ?? 0,
      refused: connect?.statuses['503'] ?? 0,
      liveSelections: held.selections,
      filterCost: held.cost,
      window,
      check,
      serviceCpuPct: proc.cpuPct,
      otherLoadPct: monitor.otherLoadPct(m0, m1, ours),
      burst: {
        events,
        producedMs,
        deliveredMs,
        eventsPerSec: deliveredMs === null ? null : Math.round((events * 1000) / deliveredMs),
        producerEventsPerSec: producedMs === null ? null : Math.round((events * 1000) / producedMs),
        latencyP99Ms: burstWindow.latencyMs.p99,
        plainDrops: burstWindow.drops,
      },
      releasedAfterMs,
    };
    phases.push(phase);
    log(
      `K=${k}: ${phase.accepted} accepted, ${phase.refused} refused, cost ${phase.filterCost}; plain p50/p99/max ${window.latencyMs.p50}/${window.latencyMs.p99}/${window.latencyMs.max} ms, ` +
        `${check.missing} lost; service CPU ${proc.cpuPct} %; burst ${events} events: ${phase.burst.eventsPerSec} ev/s (producer ${phase.burst.producerEventsPerSec} ev/s); released after ${releasedAfterMs} ms`,
    );
  }

  const base = phases.find((p) => p.attempted === 0) ?? phases[0];
  // The service's extra CPU per event over the baseline, per unit of filter cost in use; below a
  // tenth of the budget in use the difference is within the CPU figures' noise (about 1 %).
  const nsPerUnit = (p: Phase): number | null =>
    p.filterCost === null || p.filterCost < maxTotalCost / 10 || p.serviceCpuPct === null || base?.serviceCpuPct == null ? null : round(((p.serviceCpuPct - base.serviceCpuPct) * 1e7) / rate / p.filterCost, 1);
  const md =
    `## filter-cost: the costliest admitted filters and an unfiltered client\n\n` +
    `${info.date}, node ${info.node}, ${info.cores} cores (${info.cpuModel}), commit ${info.gitCommit ?? '?'}${info.gitDirty === true ? ' + uncommitted src changes' : ''}. ` +
    `filters.max_cost ${maxCost.toLocaleString('en-US')}, max_total_cost ${maxTotalCost.toLocaleString('en-US')}.\n\n` +
    `### Calibration: filters of each kind at max_cost (in process, 300 recorded recentchange events, parsed once)\n\n` +
    table(
      ['filter', 'values / patterns / clauses / paths', 'cost', 'µs per event', 'ns per cost unit'],
      calibration.map((c): Cell[] => [c.kind, c.count === 0 ? null : c.count, c.cost, c.usPerEvent, c.nsPerUnit]),
    ) +
    `\n\nµs per event = EventSelection.select per event minus an unfiltered selection's; the projection's rows send every event (no filter), the others send none or some.\n\n` +
    `### End to end: ${plain} unfiltered client(s) at ${rate} events/s while K streams ask for distinct costliest filters at max_cost\n\n` +
    table(
      ['K asked', 'accepted', 'refused 503', 'live selections', 'filter cost in use', 'plain p50 ms', 'p99 ms', 'max ms', 'p99 vs K=0', 'lost', 'service CPU %', 'ns per cost unit', `burst ev/s (${burst.toLocaleString('en-US')} events)`, 'burst vs K=0', 'producer ev/s', 'plain drops in burst', 'released after ms', 'other load %'],
      phases.map((p): Cell[] => [
        p.attempted,
        p.accepted,
        p.refused,
        p.liveSelections,
        p.filterCost,
        p.window.latencyMs.p50,
        p.window.latencyMs.p99,
        p.window.latencyMs.max,
        ratio(p.window.latencyMs.p99, base?.window.latencyMs.p99),
        p.check.missing,
        p.serviceCpuPct,
        nsPerUnit(p),
        p.burst.eventsPerSec,
        ratio(p.burst.eventsPerSec, base?.burst.eventsPerSec),
        p.burst.producerEventsPerSec,
        p.burst.plainDrops,
        p.releasedAfterMs,
        p.otherLoadPct,
      ]),
    ) +
    `\n\nLatency = receipt by a plain client − produce time, over every event of every plain client in a ${seconds} s window. Burst ev/s = burst events / time from the burst's start until every plain client had its last event (bounded by the producer's own rate when the service keeps up). ` +
    `ns per cost unit = the service's CPU time per event above K=0's, divided by the filter cost in use (shown from a tenth of max_total_cost in use: below, it is within the CPU figures' noise). Plain drops in burst = the plain client evicted as too slow (it could not parse the burst as fast as it came) and resumed with its Last-Event-ID. Live selections include the plain clients' one. Released after = from closing the K streams until the service held no filter (gauges). Other load = CPU (% of one core) used outside this run. Service log: ${JSON.stringify(service.logs.levels)}.\n`;
  writeResults(opts.name, { benchmark: 'filter-cost', args: { attempts, plain, rate, seconds, burst, burstRate, calibrateMs, maxCost, maxTotalCost }, machine: info, calibration, plainConnect, phases }, md);
  await plainGen.stop();
  await service.stop();
});
