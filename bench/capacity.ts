/**
 * What N instances × M partitions cost Kafka as clients grow: fetch requests/s, messages read/s,
 * bytes read/s and TCP connections to the broker, summed over the instances, for each number of
 * clients (spread round robin over the instances, as a balancer would). In the shared fan-out these
 * are set by N × M and the event rate, not by the clients; `per_connection` mode (one Kafka reader
 * per client, as EventStreams) is measured beside it for contrast. Then the deployment this implies
 * for a given load, from the per-instance fan-out figures in bench/results/fanout.json.
 *
 *   node bench/capacity.ts [--instances 1,3] [--partitions 1,4] [--clients 0,10,100,400] [--rate 50] ...
 *
 * Counting figures (requests, connections, messages) do not depend on the machine's speed; bytes
 * read follow the events read. Writes bench/results/capacity.{json,md}.
 */
import http from 'node:http';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../scripts/lib/repo-root.ts';
import { ensureTopics, loadTemplates, RateProducer, startBenchKafka } from './lib/kafka.ts';
import { machineInfo, table, writeResults, type Cell } from './lib/report.ts';
import { log, numList, num, options, runMain, serviceOptions, sleep, type Cleanup } from './lib/run.ts';
import { metricSum, scrapeMetrics, startServiceChild, type ServiceChild } from './lib/service.ts';

const USAGE = 'node bench/capacity.ts [options]: what N instances x M partitions cost Kafka as clients grow';
const opts = options(USAGE, {
  instances: { default: '1,3', help: 'comma-separated instance counts (N)' },
  partitions: { default: '1,4', help: 'comma-separated partition counts of the stream\'s one topic (M)' },
  clients: { default: '0,10,100,400', help: 'comma-separated client counts, spread over the instances' },
  'per-connection-clients': { default: '10,100', help: 'client counts also measured in per_connection mode (1 instance, the largest M); empty: none' },
  rate: { default: '50', help: 'events/s produced, over the partitions' },
  seconds: { default: '10', help: 'measuring window per point' },
  ...serviceOptions('capacity', 29720),
});

const STREAM = 'capacity';

interface Point {
  mode: 'shared' | 'per_connection';
  instances: number;
  partitions: number;
  clients: number;
  windowSeconds: number;
  producedPerSec: number;
  fetchesPerSec: number;
  fetchesByKindPerSec: Record<string, number>;
  messagesReadPerSec: number;
  /** Bytes the instances read (`rchar`: what they received from Kafka, plus requests and files, which are tiny here). */
  bytesReadPerSec: number;
  kafkaConnections: number;
  clientMiBPerSec: number;
  clientsConnected: number;
}

/** TCP connections from `pid` to 127.0.0.1:`port`, from its open sockets and the kernel's table. */
function connectionsTo(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m !== null) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // remote address, state 01 = ESTABLISHED, inode
      if (f.length > 9 && f[2]!.endsWith(`:${hexPort}`) && f[3] === '01' && inodes.has(f[9]!)) count++;
    }
  }
  return count;
}

function rchar(pid: number): number {
  const m = /^rchar:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'latin1'));
  return m === null ? 0 : Number(m[1]);
}

interface Clients {
  bytes(): number;
  connected(): number;
  close(): void;
}

/** Raw SSE readers that count bytes, `count` of them round robin over `ports`. */
async function openClients(ports: readonly number[], count: number): Promise<Clients> {
  let bytes = 0;
  let connected = 0;
  const requests: http.ClientRequest[] = [];
  const opened: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    opened.push(
      new Promise<void>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port: ports[i % ports.length], path: `/v2/stream/${STREAM}`, agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
          if (res.statusCode === 200) connected++;
          res.on('data', (d: Buffer) => (bytes += d.length));
          res.on('error', () => undefined);
          resolve();
        });
        req.on('error', () => resolve());
        requests.push(req);
      }),
    );
  }
  await Promise.all(opened);
  return { bytes: () => bytes, connected: () => connected, close: () => requests.forEach((r) => r.destroy()) };
}

async function measure(cleanup: Cleanup, brokers: string[], kafkaPort: number, mode: Point['mode'], instances: number, partitions: number, clientCounts: readonly number[], rate: number, seconds: number): Promise<Point[]> {
  const topic = `eqiad.capacity-${partitions}`;
  await ensureTopics(brokers, [{ name: topic, partitions }]);
  const services: ServiceChild[] = [];
  for (let i = 0; i < instances; i++) {
    services.push(await startServiceChild(cleanup, `capacity-${mode}-n${instances}-m${partitions}-${i + 1}`, { log_level: opts['log-level'], kafka: { brokers }, fanout: { mode }, streams: { [STREAM]: { topics: [topic] } } }));
  }
  const producer = new RateProducer(brokers, [topic], loadTemplates(), partitions);
  producer.setRate(rate);
  const points: Point[] = [];
  try {
    for (const count of clientCounts) {
      const clients = await openClients(services.map((s) => s.port), count);
      // Readers start at the end of each partition: let them settle into the live fetch loop.
      await sleep(3000);
      const before = await Promise.all(services.map((s) => scrapeMetrics(s.port)));
      const readBefore = services.map((s) => rchar(s.pid));
      const producedBefore = producer.stats.produced;
      const bytesBefore = clients.bytes();
      const started = Date.now();
      await sleep(seconds * 1000);
      const windowSeconds = (Date.now() - started) / 1000;
      const after = await Promise.all(services.map((s) => scrapeMetrics(s.port)));
      const delta = (name: string, labels: Record<string, string> = {}) =>
        services.reduce((sum, _, i) => sum + ((metricSum(after[i] ?? null, name, labels) ?? 0) - (metricSum(before[i] ?? null, name, labels) ?? 0)), 0);
      const kinds = ['live', 'catch_up', 'per_connection'];
      const point: Point = {
        mode,
        instances,
        partitions,
        clients: count,
        windowSeconds,
        producedPerSec: (producer.stats.produced - producedBefore) / windowSeconds,
        fetchesPerSec: delta('eventstreams_kafka_fetch_requests_total') / windowSeconds,
        fetchesByKindPerSec: Object.fromEntries(kinds.map((kind) => [kind, delta('eventstreams_kafka_fetch_requests_total', { kind }) / windowSeconds])),
        messagesReadPerSec: delta('eventstreams_kafka_messages_read_total') / windowSeconds,
        bytesReadPerSec: services.reduce((sum, s, i) => sum + rchar(s.pid) - readBefore[i]!, 0) / windowSeconds,
        kafkaConnections: services.reduce((sum, s) => sum + connectionsTo(s.pid, kafkaPort), 0),
        clientMiBPerSec: (clients.bytes() - bytesBefore) / windowSeconds / 2 ** 20,
        clientsConnected: clients.connected(),
      };
      log(`${mode} N=${instances} M=${partitions} clients=${count}: ${point.fetchesPerSec.toFixed(1)} fetches/s, ${point.messagesReadPerSec.toFixed(0)} messages/s, ${(point.bytesReadPerSec / 1024).toFixed(0)} KiB/s read, ${point.kafkaConnections} connections`);
      points.push(point);
      clients.close();
      await sleep(500);
    }
  } finally {
    await producer.pause();
    await producer.close();
    for (const s of services) await s.stop();
  }
  return points;
}

/** The largest client count per coding that the fan-out benchmark served with ≥ 99 % of events delivered, per instance. */
function fanoutCapacity(): { coding: string; clients: number; eventsPerSec: number; deliveriesPerSec: number; cpuPct: number; cpuUsPerEvent: number; commit: string }[] {
  const file = join(repoRoot, 'bench', 'results', 'fanout.json');
  const data = JSON.parse(readFileSync(file, 'utf8')) as {
    machine?: { gitCommit?: string };
    runs: { mode: string; encoding: string; filtered: string; clients: number; deliveredFraction?: number; producedPerSec?: number; deliveredEventsPerSec?: number; cpuUsPerEvent?: number; service?: { cpuPct?: number } }[];
  };
  const best = new Map<string, (typeof data.runs)[number]>();
  for (const run of data.runs) {
    if (run.mode !== 'shared' || run.filtered !== 'none' || (run.deliveredFraction ?? 0) < 0.99) continue;
    if ((best.get(run.encoding)?.clients ?? 0) < run.clients) best.set(run.encoding, run);
  }
  return [...best].map(([coding, run]) => ({
    coding,
    clients: run.clients,
    eventsPerSec: Math.round(run.producedPerSec ?? 0),
    deliveriesPerSec: Math.round(run.deliveredEventsPerSec ?? 0),
    cpuPct: run.service?.cpuPct ?? 0,
    cpuUsPerEvent: run.cpuUsPerEvent ?? 0,
    commit: data.machine?.gitCommit ?? "unknown",
  }));
}

runMain('capacity', 60 * 60_000, async (cleanup) => {
  const instances = numList(opts.instances, 'instances');
  const partitions = numList(opts.partitions, 'partitions');
  const clientCounts = numList(opts.clients, 'clients');
  const perConnection = numList(opts['per-connection-clients'], 'per-connection-clients');
  const rate = num(opts.rate, 'rate');
  const seconds = num(opts.seconds, 'seconds');
  const kafkaPort = num(opts['kafka-port'], 'kafka-port');
  // Which code is measured: read before, not after the run.
  const machine = machineInfo();
  const kafka = await startBenchKafka(cleanup, kafkaPort, true);
  const points: Point[] = [];
  for (const m of partitions) for (const n of instances) points.push(...(await measure(cleanup, kafka.brokers, kafkaPort, 'shared', n, m, clientCounts, rate, seconds)));
  if (perConnection.length > 0) points.push(...(await measure(cleanup, kafka.brokers, kafkaPort, 'per_connection', 1, Math.max(...partitions), perConnection, rate, seconds)));
  const capacity = fanoutCapacity();

  const rows: Cell[][] = points.map((p) => [
    p.mode,
    p.instances,
    p.partitions,
    p.clients,
    p.clientsConnected,
    p.producedPerSec.toFixed(0),
    p.fetchesPerSec.toFixed(1),
    p.messagesReadPerSec.toFixed(0),
    (p.bytesReadPerSec / 1024).toFixed(0),
    p.kafkaConnections,
    p.clientMiBPerSec.toFixed(2),
  ]);
  const markdown = [
    `## capacity: what N instances × M partitions cost Kafka as clients grow`,
    '',
    `${machine.date}, node ${process.version}, ${machine.cores} cores, load average ${machine.loadavgAtStart.join(" ")} at the start, commit ${machine.gitCommit}${machine.gitDirty === true ? " (src modified)" : ""}. One local broker; the stream reads one topic of M partitions; ${rate} events/s of real recentchange events (~1.6 kB) produced over the partitions; clients are raw SSE readers spread round robin over the N instances, each from the end; ${seconds} s windows after 3 s of settling. Fetches and messages from the instances' own counters (\`eventstreams_kafka_fetch_requests_total\`, \`eventstreams_kafka_messages_read_total\`), summed over the instances; KiB read/s = the instances' \`rchar\` (bytes received: Kafka's answers, plus requests and files); connections = established TCP connections from the instances to the broker at the end of the window.`,
    '',
    table(['mode', 'instances (N)', 'partitions (M)', 'clients', 'connected', 'produced ev/s', 'Kafka fetches/s', 'messages read/s', 'KiB read/s', 'connections to Kafka', 'client MiB/s'], rows),
    '',
    `Per instance, from the fan-out benchmark (\`bench/results/fanout.json\`, commit ${capacity[0]?.commit ?? '?'}): the largest client count served with ≥ 99 % of events delivered on this 2-core machine.`,
    '',
    table(['coding', 'clients', 'events/s', 'deliveries/s', 'service CPU % of a core', 'CPU µs/event'], capacity.map((c) => [c.coding, c.clients, c.eventsPerSec, c.deliveriesPerSec, c.cpuPct, c.cpuUsPerEvent])),
  ].join('\n');
  writeResults(opts.name, { benchmark: 'capacity', args: opts, machine, points, fanoutCapacity: capacity }, markdown);
});
