/**
 * CPU of the live fan-out path per event and client, in process: no Kafka, no sockets.
 *
 *   node bench/fanout-cpu.ts [--clients 1000,10000] [--codings identity,gzip] [--rate 100] [--seconds 8]
 *
 * N real `StreamSession`s (the service's own, with its framing, queues, shared position states,
 * flush queue, load guard and compression) follow one `PartitionFeed`, which is handed the real
 * recorded recentchange events at `rate` events/s, as the tail reader hands fetched events. Each
 * session writes to a response that only counts bytes, so what is measured is the service's own
 * work per event and client, the part that grows with N; `bench/fanout.ts` measures the whole
 * with real sockets against a bare-Node ceiling. Clients join staggered over the first events, as
 * clients connecting while events flow (they start in different position states).
 * Reported: CPU ns per (event × client), the process's CPU share, and how far the last client
 * fell behind (events produced but not yet handed to its socket), worst over the run.
 * Results: bench/results/fanout-cpu.json and .md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { LoadGuard } from '../src/admission/load-guard.ts';
import { Compression } from '../src/compress/encoder.ts';
import { dataLineBuffer } from '../src/event/frame.ts';
import type { PreparedEvent } from '../src/event/prepared-event.ts';
import { PartitionFeed } from '../src/fanout/partition-feed.ts';
import { Metrics } from '../src/metrics/registry.ts';
import type { ContentCoding } from '../src/protocol/content-coding.ts';
import { RedactedPages } from '../src/sanitize/redacted-pages.ts';
import { Sanitizer } from '../src/sanitize/sanitizer.ts';
import { SuppressionIndex } from '../src/sanitize/suppression-index.ts';
import { EventSelection } from '../src/selection/event-selection.ts';
import { FlushQueue } from '../src/stream/flush-queue.ts';
import { framingFor } from '../src/stream/framing.ts';
import { PositionStates } from '../src/stream/position-ids.ts';
import { StreamSession } from '../src/stream/session.ts';
import { Cohorts } from '../src/stream/cohort.ts';
import { oneFeedSource } from './lib/one-feed-source.ts';
import type { StreamResponse } from '../src/stream/socket-writer.ts';
import { repoRoot } from '../scripts/lib/repo-root.ts';
import { machineInfo, table, writeResults } from './lib/report.ts';
import { log, num, numList, options } from './lib/run.ts';

const opts = options('node bench/fanout-cpu.ts [options]', {
  clients: { default: '1000,10000', help: 'client counts, comma-separated' },
  codings: { default: 'identity,gzip', help: 'content codings of the clients, each a run per client count' },
  rate: { default: '100', help: 'events/s handed to the feed' },
  seconds: { default: '8', help: 'measured seconds per run' },
  stagger: { default: '20', help: 'clients join spread over this many first events' },
  cohorts: { default: 'yes', help: 'yes: clients in step are served as cohorts (fanout.cohorts); no: each by itself' },
  name: { default: 'fanout-cpu', help: 'results file name under bench/results/' },
});
const useCohorts = opts.cohorts === 'yes';
const rate = num(opts.rate, 'rate');
const seconds = num(opts.seconds, 'seconds');
const stagger = num(opts.stagger, 'stagger');

const silent = pino({ level: 'silent' });
const recorded = readFileSync(join(repoRoot, 'data/demo/recentchange.2026-08-04.ndjson'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => dataLineBuffer(l));
const eventAt = (offset: number): PreparedEvent => ({ topic: 'eqiad.mediawiki.recentchange', partition: 0, offset, timestamp: 1_700_000_000_000 + offset * 10, canary: false, frame: recorded[offset % recorded.length]! });

/** A response that takes every write at once: the socket's own cost is bench/fanout.ts's. */
function countingResponse(count: (bytes: number) => void): StreamResponse {
  return {
    writableLength: 0,
    destroyed: false,
    socket: { destroyed: false, destroy: () => undefined, resetAndDestroy: () => undefined },
    write: (chunk) => (count(typeof chunk === 'string' ? chunk.length : chunk.length), true),
    end: () => undefined,
    once: () => undefined,
    on: () => undefined,
  };
}

interface Row {
  cohorts: number;
  clients: number;
  coding: ContentCoding;
  events: number;
  nsPerEventClient: number;
  cpuPct: number;
  maxBehindEvents: number;
  wireBytesPerEvent: number;
  evicted: number;
}

async function run(clients: number, coding: ContentCoding): Promise<Row> {
  const metrics = new Metrics();
  const guard = new LoadGuard(256 * 2 ** 20, 1e9);
  const flush = new FlushQueue();
  const positions = new PositionStates();
  const compression = new Compression({ deflateLevel: 6, zstdLevel: 3, maxSharedHistories: 1000, maxSharedZstdStreams: 1000 });
  const selection = new EventSelection('rc', new Sanitizer(new SuppressionIndex(10), new RedactedPages({}), () => undefined, metrics, silent), new Set());
  const feed = new PartitionFeed('eqiad.mediawiki.recentchange', 0, 0, 32 * 2 ** 20);
  const source = oneFeedSource(feed);
  const cohorts = useCohorts ? new Cohorts(source) : undefined;
  let wire = 0;
  const sessions: StreamSession[] = [];
  for (let i = 0; i < clients; i++) {
    const start = Math.floor((i * stagger) / clients);
    const session = new StreamSession(countingResponse((bytes) => (wire += bytes)), {
      framing: framingFor('sse'),
      encoder: compression.encoder(coding, 'sse|rc'),
      positions,
      starts: [{ topic: 'eqiad.mediawiki.recentchange', partition: 0, offset: start }],
      dropped: [],
      selection,
      countFiltered: () => undefined,
      backlogBytes: 2 * 2 ** 20,
      stallMs: 0,
      heartbeatIntervalMs: 0,
      shareKey: 'sse|rc',
      reconnectDelayMs: 2000,
      flush,
      ...(cohorts !== undefined ? { cohorts } : {}),
      guard,
      metrics,
      log: silent,
    });
    session.open();
    sessions.push(session);
  }
  // Every client joins the feed, and the staggered ones get their first events.
  let offset = 0;
  for (; offset < stagger + 20; offset++) {
    feed.accept([eventAt(offset)], offset + 1, undefined);
    if (offset === 0) for (const session of sessions) session.follow(source, new Map());
    await new Promise((resolve) => setImmediate(resolve));
  }
  const last = sessions.at(-1)!;
  const sentBefore = last.stats.eventsSent;
  wire = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let produced = 0;
  let maxBehind = 0;
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - t0;
      const due = Math.floor((elapsed / 1000) * rate) - produced;
      const batch: PreparedEvent[] = [];
      for (let k = 0; k < due; k++, offset++, produced++) batch.push(eventAt(offset));
      if (batch.length > 0) feed.accept(batch, offset, undefined);
      maxBehind = Math.max(maxBehind, produced - (last.stats.eventsSent - sentBefore));
      if (elapsed >= seconds * 1000) {
        clearInterval(timer);
        done();
      }
    }, 10);
  });
  const cpu = process.cpuUsage(cpu0);
  const ms = performance.now() - t0;
  guard.stop();
  const cpuUs = cpu.user + cpu.system;
  return {
    cohorts: cohorts?.size ?? 0,
    clients,
    coding,
    events: produced,
    nsPerEventClient: Math.round((cpuUs * 1000) / (produced * clients)),
    cpuPct: Math.round((100 * cpuUs) / 1000 / ms),
    maxBehindEvents: maxBehind,
    wireBytesPerEvent: Math.round(wire / (produced * clients)),
    evicted: sessions.filter((s) => s.ended).length,
  };
}

const rows: Row[] = [];
for (const clients of numList(opts.clients, 'clients')) {
  for (const coding of opts.codings.split(',') as ContentCoding[]) {
    log(`${clients} clients, ${coding}`);
    rows.push(await run(clients, coding));
    log(JSON.stringify(rows.at(-1)));
  }
}
const machine = machineInfo();
const markdown = [
  `## fanout-cpu: the live fan-out path's own CPU, ${rate} events/s, ${seconds} s per run`,
  '',
  `${machine.date}, node ${machine.node}, commit ${machine.gitCommit}${machine.gitDirty === true ? ' (dirty)' : ''}. In process, no Kafka and no sockets: real StreamSessions on one PartitionFeed with the recorded recentchange events, writing to responses that only count bytes (the sockets' cost is bench/fanout.ts's). Clients join over the first ${stagger} events. "behind" = events produced but not yet handed to the last client's socket, worst over the run.`,
  '',
  table(
    ['clients', 'coding', 'cohorts at the end', 'events', 'CPU ns per event × client', 'CPU % of a core', 'behind (events, max)', 'wire B/event', 'evicted'],
    rows.map((r) => [r.clients, r.coding, useCohorts ? r.cohorts : 'off', r.events, r.nsPerEventClient, r.cpuPct, r.maxBehindEvents, r.wireBytesPerEvent, r.evicted]),
  ),
].join('\n');
writeResults(opts.name, { benchmark: 'fanout-cpu', args: { rate, seconds, stagger, cohorts: useCohorts }, machine, rows }, markdown);
process.exit(0);
