/**
 * Slow readers: thousands of connections that open the stream and never read, next to normal
 * clients. Is memory bounded, are the slow ones evicted per the flow-control policy, and are the
 * normal clients unaffected?
 *
 *   node bench/slow-readers.ts [--slow 10000] [--normal 100] [--rate 100] [--baseline 30] [--max-seconds 240]
 *
 * Setup: a fresh local Kafka on 127.0.0.1:29592 (.kafka/bench-29592) with the two recentchange
 * topics (1 partition each), a producer of real recorded events (`bench: {seq, sent_ms}` first) at
 * `--rate` events/s, a fresh service process with `fanout.client_backlog_bytes` /
 * `fanout.total_backlog_bytes` as given (defaults: the service's, 2 MiB / 256 MiB), and two load
 * generator processes: one with the `--normal` clients, every one parsed (every seq counted,
 * latency = receipt - bench.sent_ms; a client the server drops resumes with its Last-Event-ID and
 * counts as a drop), one with the `--slow` clients, which stop reading their socket as soon as
 * their response head arrived (paused sockets: the kernel buffers fill, then the service's queue
 * for them grows).
 *
 * Phases, each a window on the normal clients (gaps/duplicates checked per partition over the
 * window's seqs 3 s after it ends; delivered = received / (seqs x clients)):
 * 1. baseline: `--baseline` s, normal clients only;
 * 2. slow: the slow clients connect (at most 200 waiting for their head) and the window runs
 *    until the service reports no more of them connected (all evicted) or `--max-seconds`;
 * 3. after: `--after` s more, normal clients only again.
 * Then the slow sockets are read again (until all ended, at most 60 s): a socket the server closed reports its end
 * (counted "closed by the server"), one it did not stays open.
 *
 * Every `--sample` s: the service's RSS, heap, fds, connected clients, disconnects by reason,
 * 503s, event-loop lag (bench/lib/service-sample.ts), the generators' open clients and drops,
 * other load. Results: bench/results/slow-readers.json (with the series), .csv, .md.
 * Figures only, no assertions.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../scripts/lib/repo-root.ts';
import { LoadGen } from './lib/loadgen-client.ts';
import type { CheckResult, ConnectResult, GenStatus, WindowResult } from './lib/loadgen-protocol.ts';
import { RECENTCHANGE_TOPICS } from './lib/kafka.ts';
import { readProc, readTcpKernel, tcpTroubleBetween, type Mark, type Monitor, type TcpTrouble } from './lib/proc.ts';
import { RECENTCHANGE_STREAMS, startCheckedClients, startLiveBench } from './lib/setup.ts';
import { machineInfo, table, writeResults } from './lib/report.ts';
import { log, nodeArgs, num, options, runMain, serviceOptions, sleep } from './lib/run.ts';
import { startServiceChild } from './lib/service.ts';
import { sampleService, toCsv, type ServiceSample } from './lib/service-sample.ts';
import { ratio, round } from './lib/stats.ts';

const opts = options('node bench/slow-readers.ts [options]', {
  slow: { default: '10000', help: 'connections that never read' },
  normal: { default: '100', help: 'normal clients (every event checked)' },
  rate: { default: '100', help: 'events/s produced in total' },
  baseline: { default: '30', help: 'seconds of the baseline window (normal clients only)' },
  'max-seconds': { default: '240', help: 'longest slow window (ends earlier once every slow client is gone)' },
  after: { default: '20', help: 'seconds of the window after the slow clients are gone' },
  sample: { default: '5', help: 'seconds between samples' },
  'connect-when': { default: 'live', help: 'live: the slow clients connect while events flow (admission control refuses them past 75 % of the budget); idle: production pauses while they connect, so all are held at once when it resumes' },
  'client-backlog': { default: '2097152', help: 'service fanout.client_backlog_bytes' },
  'total-backlog': { default: '268435456', help: 'service fanout.total_backlog_bytes' },
  ...serviceOptions('slow-readers', 29592),
});
const slow = Math.floor(num(opts.slow, 'slow'));
const normal = Math.max(1, Math.floor(num(opts.normal, 'normal')));
const rate = num(opts.rate, 'rate');
const baselineS = num(opts.baseline, 'baseline');
const maxSlowS = num(opts['max-seconds'], 'max-seconds');
const afterS = num(opts.after, 'after');
const sampleS = Math.max(1, num(opts.sample, 'sample'));
const clientBacklog = Math.floor(num(opts['client-backlog'], 'client-backlog'));
const totalBacklog = Math.floor(num(opts['total-backlog'], 'total-backlog'));
const connectTimeoutMs = 60_000 + slow * 20;
const connectWhen = opts['connect-when'];
if (connectWhen !== 'live' && connectWhen !== 'idle') throw new Error(`--connect-when: live or idle, not ${connectWhen}`);

type Phase = 'baseline' | 'slow' | 'after';
/** MiB in `pages` of /proc/net/sockstat and tcp_mem (4 KiB pages on x86-64 and arm64 Linux). */
const pagesMiB = (pages: number, digits = 0) => round((pages * 4096) / 2 ** 20, digits);

interface Row extends ServiceSample {
  phase: Phase;
  slowOpen: number | null;
  slowDrops: number | null;
  slowStatuses: Record<string, number>;
  normalOpen: number | null;
  normalDrops: number | null;
  otherLoadPct: number | null;
  /** Pages in all the host's TCP buffers, both ends of every loopback connection included. */
  tcpMemPages: number | null;
  tcpUnderPressure: boolean | null;
}

interface PhaseResult {
  phase: Phase;
  seconds: number;
  fromSeq: number;
  toSeq: number;
  window: WindowResult;
  check: CheckResult;
  /** Events the normal clients received of those they should have (1 = all, in time for the check). */
  delivered: number | null;
  service: ReturnType<Monitor['proc']>;
  otherLoadPct: number;
  /** What went wrong in the host's TCP during the window (its counters are host-wide). */
  tcpTrouble: TcpTrouble | null;
}

runMain('slow-readers', (baselineS + maxSlowS + afterS + 900) * 1000 + connectTimeoutMs, async (cleanup) => {
  const info = machineInfo();
  const { kafka, producer, monitor } = await startLiveBench(cleanup, num(opts['kafka-port'], 'kafka-port'));
  const service = await startServiceChild(
    cleanup,
    `slow-readers-${slow}`,
    {
      log_level: opts['log-level'],
      kafka: { brokers: kafka.brokers },
      streams: RECENTCHANGE_STREAMS,
      fanout: { client_backlog_bytes: clientBacklog, total_backlog_bytes: totalBacklog },
    },
    nodeArgs(opts['service-node-args']),
  );
  monitor.watch('service', service.pid);
  const path = '/v2/stream/recentchange';
  const normalGen = await startCheckedClients(cleanup, monitor, 'normal generator', service.port, path);
  // Only client 0 of the slow ones is parsed (index 0 is always sampled): it shows the error event the evicted get.
  const slowGen = await LoadGen.start(cleanup, { port: service.port, path, sampleEvery: 1_000_000_000, trackAll: false, reconnectOnDrop: false, reconnectDelayMs: 1000, stall: true });
  monitor.watch('slow generator', slowGen.pid);
  const ours = ['service', 'normal generator', 'slow generator', 'kafka', 'bench'];

  const t0 = Date.now();
  const rows: Row[] = [];
  let phase: Phase = 'baseline';
  let lastMark: Mark = monitor.mark();
  const status = (gen: LoadGen): Promise<GenStatus | null> => gen.request({ type: 'status' }, 30_000).catch(() => null);
  const sample = async (): Promise<Row> => {
    const [s, slowSt, normalSt] = await Promise.all([sampleService(service.pid, service.port, t0, 30_000), status(slowGen), status(normalGen)]);
    const mark = monitor.mark();
    const tcp = readTcpKernel();
    const row: Row = {
      ...s,
      phase,
      slowOpen: slowSt?.open ?? null,
      slowDrops: slowSt?.drops ?? null,
      slowStatuses: slowSt?.statuses ?? {},
      normalOpen: normalSt?.open ?? null,
      normalDrops: normalSt?.drops ?? null,
      otherLoadPct: monitor.otherLoadPct(lastMark, mark, ours),
      tcpMemPages: tcp?.memPages ?? null,
      tcpUnderPressure: tcp?.underPressure ?? null,
    };
    lastMark = mark;
    rows.push(row);
    log(
      `${phase} t=${row.t}s: service RSS ${row.rssMiB} MiB (heap ${row.heapUsedMiB}, external ${row.externalMiB}), fds ${row.openFds}, connected ${row.connectedClients}, ` +
        `disconnects ${JSON.stringify(row.disconnects)}, 503s ${row.rejected}, lag p99 ${row.eventLoopLagP99Ms} ms; slow open ${row.slowOpen}, normal open ${row.normalOpen} (drops ${row.normalDrops}); kernel TCP buffers ${row.tcpMemPages === null ? '?' : pagesMiB(row.tcpMemPages)} MiB${row.tcpUnderPressure === true ? ' (under pressure)' : ''}; other load ${row.otherLoadPct} %`,
    );
    return row;
  };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await sample();
      await sleep(sampleS * 1000);
    }
  })();
  cleanup.add('sampler', async () => {
    sampling = false;
    await sampler;
  });

  const runPhase = async (which: Phase, body: () => Promise<void>): Promise<PhaseResult> => {
    phase = which;
    const fromSeq = producer.stats.nextSeq;
    await normalGen.request({ type: 'window-start' }, 10_000);
    const m0 = monitor.mark();
    const k0 = readTcpKernel();
    await body();
    const window = await normalGen.request({ type: 'window-end' }, 30_000);
    const m1 = monitor.mark();
    const k1 = readTcpKernel();
    const toSeq = producer.stats.nextSeq - 1;
    await sleep(3000);
    const check = await normalGen.request({ type: 'check', fromSeq, toSeq, exclude: producer.stats.uncertainSeqs, stride: RECENTCHANGE_TOPICS.length }, 60_000);
    const expected = (toSeq - fromSeq + 1) * check.clientsChecked;
    const result: PhaseResult = {
      phase: which,
      seconds: round(window.ms / 1000, 1) ?? 0,
      fromSeq,
      toSeq,
      window,
      check,
      delivered: expected > 0 ? round(1 - (check.missing + check.behind) / expected, 4) : null,
      service: monitor.proc('service', m0, m1),
      otherLoadPct: monitor.otherLoadPct(m0, m1, ours),
      tcpTrouble: tcpTroubleBetween(k0, k1),
    };
    log(
      `${which}: ${result.seconds} s, normal clients: delivered ${result.delivered}, ${check.missing} lost, ${check.duplicatesAnywhere} duplicates, ` +
        `latency p50 ${window.latencyMs.p50} p99 ${window.latencyMs.p99} max ${window.latencyMs.max} ms, drops ${window.drops}`,
    );
    return result;
  };

  log(`normal: connecting ${normal} clients`);
  const normalConnect = await normalGen.request({ type: 'connect', count: normal, maxPending: 200, timeoutMs: 60_000, headers: {} }, 90_000);
  if (normalConnect.connected === 0) throw new Error('no normal client connected');
  producer.setRate(rate);
  await normalGen.request({ type: 'wait-first-event', timeoutMs: 60_000 }, 70_000);
  await sleep(5000);

  const baseline = await runPhase('baseline', () => sleep(baselineS * 1000));
  const slowRun: { connect: ConnectResult | null; allGoneAfterS: number | null } = { connect: null, allGoneAfterS: null };
  const slowPhase = await runPhase('slow', async () => {
    const started = Date.now();
    if (connectWhen === 'idle') await producer.pause();
    log(`slow: connecting ${slow} clients that never read${connectWhen === 'idle' ? ' (production paused)' : ''}`);
    const c = await slowGen.request({ type: 'connect', count: slow, maxPending: 200, timeoutMs: connectTimeoutMs, headers: {} }, connectTimeoutMs + 30_000);
    slowRun.connect = c;
    if (connectWhen === 'idle') producer.setRate(rate);
    log(`slow: ${c.connected}/${slow} connected in ${c.ms} ms, statuses ${JSON.stringify(c.statuses)}, errors ${JSON.stringify(c.errors)}, timed out ${c.timedOut}`);
    // Until the service holds no slow stream any more (only the normal clients are connected).
    while (Date.now() - started < maxSlowS * 1000) {
      await sleep(2000);
      const s = await sampleService(service.pid, service.port, t0, 30_000);
      if (s.connectedClients !== null && s.connectedClients <= normal) {
        slowRun.allGoneAfterS = round((Date.now() - started) / 1000, 1);
        break;
      }
    }
    log(slowRun.allGoneAfterS === null ? `slow: still slow streams after ${maxSlowS} s` : `slow: no slow stream left ${slowRun.allGoneAfterS} s after they started connecting`);
  });
  const after = await runPhase('after', () => sleep(afterS * 1000));
  sampling = false;
  await sampler;
  const endSample = await sample();

  log('slow: reading the slow sockets again (until all ended, at most 60 s): the ones the server closed report their end');
  const beforeResume = await status(slowGen);
  await slowGen.request({ type: 'resume-all' }, 30_000);
  let afterResume = await status(slowGen);
  for (let waited = 0; waited < 60_000 && (afterResume?.open ?? 0) > 0; waited += 2000) {
    await sleep(2000);
    afterResume = await status(slowGen);
  }
  const closedByServer = (afterResume?.drops ?? 0);
  log(`slow: ${closedByServer} closed by the server, ${afterResume?.open ?? '?'} still open; named events on the parsed slow client: ${JSON.stringify(afterResume?.named ?? {})}`);

  const hwm = readProc(service.pid)?.hwmBytes ?? null;
  const rss = rows.map((r) => r.rssMiB).filter((v): v is number => v !== null);
  const baseRss = rows.find((r) => r.phase === 'baseline')?.rssMiB ?? null;
  const peakRss = rss.length === 0 ? null : Math.max(...rss);
  const peakFds = Math.max(0, ...rows.map((r) => r.openFds ?? 0));
  const tcpPages = rows.map((r) => r.tcpMemPages).filter((v): v is number => v !== null);
  const peakTcpMiB = tcpPages.length === 0 ? null : pagesMiB(Math.max(...tcpPages), 1);
  const tcpMemMiB = info.tcpMem?.split(' ').map((pages) => pagesMiB(Number(pages))).join(' / ') ?? '?';
  const disconnects = endSample.disconnects;
  const phases = [baseline, slowPhase, after];
  const result = {
    normalConnect,
    slowConnect: slowRun.connect,
    allGoneAfterS: slowRun.allGoneAfterS,
    phases,
    slowSockets: { beforeResume, afterResume, closedByServer, stillOpen: afterResume?.open ?? null },
    service: { rssBaselineMiB: baseRss, rssPeakMiB: peakRss, lifetimePeakMiB: hwm === null ? null : round(hwm / 2 ** 20, 1), peakFds, disconnects, rejected: endSample.rejected, logs: service.logs, exit: service.exited() },
    producer: producer.stats,
    series: rows,
  };
  writeFileSync(join(repoRoot, 'bench', 'results', `${opts.name}.csv`), toCsv(rows));
  const statuses = slowRun.connect?.statuses ?? {};
  const connected = slowRun.connect?.connected ?? 0;
  const md =
    `## slow readers: ${slow.toLocaleString('en-US')} connections that never read + ${normal} normal clients, ${rate} events/s\n\n` +
    `${info.date}, node ${info.node}, ${info.cores} cores (${info.cpuModel}), commit ${info.gitCommit ?? '?'}${info.gitDirty === true ? ' + uncommitted src changes' : ''}; ` +
    `fanout.client_backlog_bytes ${clientBacklog.toLocaleString('en-US')}, total_backlog_bytes ${totalBacklog.toLocaleString('en-US')}; the host's net.ipv4.tcp_wmem (min default max) ${info.tcpWmem ?? '?'}, net.ipv4.tcp_mem (low / pressure / high) ${tcpMemMiB} MiB. ` +
    `Slow clients stop reading their socket once their response head arrived; they connected ${connectWhen === 'idle' ? 'while production was paused (so all are held when it resumes; the slow window includes the pause)' : 'while events flowed'}. Normal clients: every event checked (gaps/duplicates per partition, 3 s after each window), latency = produce to receipt; ` +
    `ratios are against the baseline window of the same run. Other load = CPU (% of one core) used outside this run. ` +
    `The host's TCP during each window (TcpExt counters, host-wide): "pressure" = times all sockets' buffers together went past tcp_mem's pressure threshold (the kernel then cuts every socket's buffers back), "RTOs" = retransmission timeouts (on loopback, segments the receiver dropped: each costs the stream 200 ms or more), "rcvq drops" = segments a receiving socket dropped for memory, "aborted" = closed connections whose unsent data the kernel discarded for memory. "kernel TCP buffers" = what all TCP sockets held at the 5 s samples (/proc/net/sockstat, 4 KiB pages), on loopback the slow clients' receive buffers included.\n\n` +
    table(
      ['normal clients, window', 'seconds', 'delivered', 'lost', 'duplicates', 'p50 ms', 'p99 ms', 'max ms', 'drops', 'delivered vs baseline', 'p99 vs baseline', 'TCP: pressure', 'RTOs', 'rcvq drops', 'aborted', 'service CPU %', 'other load %'],
      phases.map((p) => [
        p.phase,
        p.seconds,
        p.delivered,
        p.check.missing,
        p.check.duplicatesAnywhere,
        p.window.latencyMs.p50,
        p.window.latencyMs.p99,
        p.window.latencyMs.max,
        p.window.drops,
        ratio(p.delivered, baseline.delivered, 4),
        ratio(p.window.latencyMs.p99, baseline.window.latencyMs.p99),
        p.tcpTrouble?.memoryPressures,
        p.tcpTrouble?.timeouts,
        p.tcpTrouble?.receiveQueueDrops,
        p.tcpTrouble?.abortedForMemory,
        p.service.cpuPct,
        p.otherLoadPct,
      ]),
    ) +
    '\n\n' +
    table(
      ['slow connections', 'connected (200)', 'refused 503', 'all gone after s', 'evicted slow_client', 'evicted overloaded', 'closed by the server', 'still open', 'service RSS baseline MiB', 'RSS peak MiB', 'peak − baseline MiB', 'peak fds', 'kernel TCP buffers peak MiB'],
      [
        [
          slow,
          connected,
          statuses['503'] ?? 0,
          slowRun.allGoneAfterS,
          disconnects.slow_client ?? 0,
          disconnects.overloaded ?? 0,
          closedByServer,
          afterResume?.open ?? null,
          baseRss,
          peakRss,
          baseRss === null || peakRss === null ? null : round(peakRss - baseRss, 1),
          peakFds,
          peakTcpMiB,
        ],
      ],
    ) +
    `\n\nSeries every ${sampleS} s (RSS, heap, fds, connected, disconnects, 503s, lag, kernel TCP buffers): \`bench/results/${opts.name}.csv\`.` +
    (Object.keys(statuses).some((s) => s !== '200' && s !== '503') ? ` Slow connect statuses: ${JSON.stringify(statuses)}.` : '') +
    ` Service log: ${JSON.stringify(service.logs.levels)}` +
    (Object.keys(service.logs.problems).length > 0 ? ` (${Object.entries(service.logs.problems).slice(0, 4).map(([k, v]) => `${v} × ${k}`).join('; ')})` : '') +
    '.' +
    (result.service.exit !== null ? ` The service exited: ${result.service.exit}.` : '') +
    '\n';
  writeResults(opts.name, { benchmark: 'slow-readers', args: { slow, normal, rate, connectWhen, baselineS, maxSlowS, afterS, sampleS, clientBacklog, totalBacklog }, machine: info, result }, md);
  await slowGen.stop();
  await normalGen.stop();
  await service.stop();
});
