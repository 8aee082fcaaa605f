/**
 * One reading of the service's resource state for time series: RSS from /proc, and from its
 * /metrics the heap, open handles, timers, file descriptors, readers, caches, clients and
 * disconnects by reason. Shared by the long-running benchmarks (soak, slow-readers).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { readProc } from './proc.ts';
import { metricSum, scrapeMetrics, type MetricSamples } from './service.ts';
import { round } from './stats.ts';

export interface ServiceSample {
  /** Seconds since the series started. */
  t: number;
  rssMiB: number | null;
  heapUsedMiB: number | null;
  heapTotalMiB: number | null;
  externalMiB: number | null;
  /** libuv handles (sockets, servers, ref'd timers' list...) as prom-client counts them. */
  activeHandles: number | null;
  /** `process.getActiveResourcesInfo()` entries (what keeps the loop alive), in all and timers only. */
  activeResources: number | null;
  timers: number | null;
  /** Open file descriptors (from /proc: sockets to clients and Kafka, files). */
  openFds: number | null;
  /** The same by what they are (see `fdKinds`), to name what a difference in `openFds` is. */
  fdKinds: Record<string, number> | null;
  sharedReaders: number | null;
  catchUpReaders: number | null;
  connectedClients: number | null;
  cacheMiB: number | null;
  eventLoopLagP99Ms: number | null;
  disconnects: Record<string, number>;
  rejected: number | null;
  /** Whether /metrics answered (null figures above otherwise). */
  scraped: boolean;
}

const MiB = 2 ** 20;

/** The process's open fd numbers, from /proc; null when it is gone. */
function fdList(pid: number): string[] | null {
  try {
    return readdirSync(`/proc/${pid}/fd`);
  } catch {
    return null;
  }
}

const TCP_STATES: Record<string, string> = { '01': 'established', '06': 'time-wait', '08': 'close-wait', '0A': 'listen' };

/** Socket inode -> what it is, from the kernel's TCP tables (the service's namespace is ours). */
function tcpSockets(pid: number, servicePort: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${file}`, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const localPort = parseInt(f[1]!.split(':')[1]!, 16);
      const remotePort = parseInt(f[2]!.split(':')[1]!, 16);
      const state = TCP_STATES[f[3]!] ?? `state ${f[3]!}`;
      const what =
        state === 'listen' ? `tcp listen${localPort === servicePort ? ` :${servicePort}` : ' (other port)'}` : localPort === servicePort ? `tcp client (${state})` : `tcp to :${remotePort} (${state})`;
      out.set(f[9]!, what);
    }
  }
  return out;
}

/** Open fds counted by kind: TCP sockets by peer port and state, pipes, anon inodes, file paths. */
function fdKinds(pid: number, fds: readonly string[] | null, servicePort: number): Record<string, number> | null {
  if (fds === null) return null;
  const tcp = tcpSockets(pid, servicePort);
  const out: Record<string, number> = {};
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed since the listing
    }
    const socket = /^socket:\[(\d+)\]$/.exec(target);
    const kind = socket !== null ? (tcp.get(socket[1]!) ?? 'socket (not TCP)') : target.startsWith('pipe:') ? 'pipe' : target;
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}

/** Kinds whose count differs between two `fdKinds` readings, as `+n kind` / `-n kind`. */
export function fdKindChanges(from: Record<string, number> | null, to: Record<string, number> | null): string[] {
  if (from === null || to === null) return [];
  const out: string[] = [];
  for (const kind of new Set([...Object.keys(from), ...Object.keys(to)])) {
    const d = (to[kind] ?? 0) - (from[kind] ?? 0);
    if (d !== 0) out.push(`${d > 0 ? '+' : ''}${d} ${kind}`);
  }
  return out.sort();
}

/** Per-`reason` values of eventstreams_disconnects_total. */
export function disconnectsByReason(m: MetricSamples | null): Record<string, number> {
  const out: Record<string, number> = {};
  if (m === null) return out;
  for (const [key, value] of m) {
    const r = /^eventstreams_disconnects_total\{.*reason="([^"]*)"/.exec(key);
    if (r !== null) out[r[1]!] = (out[r[1]!] ?? 0) + value;
  }
  return out;
}

export async function sampleService(pid: number, port: number, t0: number, timeoutMs = 10_000): Promise<ServiceSample> {
  // Fds first: the scrape's own connection is still being closed by the service when it answers.
  const fds = fdList(pid);
  const kinds = fdKinds(pid, fds, port);
  const m = await scrapeMetrics(port, timeoutMs);
  const proc = readProc(pid);
  const mib = (name: string): number | null => {
    const v = metricSum(m, name);
    return v === null ? null : round(v / MiB, 1);
  };
  const lag = metricSum(m, 'nodejs_eventloop_lag_p99_seconds');
  return {
    t: round((Date.now() - t0) / 1000, 1) ?? 0,
    rssMiB: proc === null ? null : round(proc.rssBytes / MiB, 1),
    heapUsedMiB: mib('nodejs_heap_size_used_bytes'),
    heapTotalMiB: mib('nodejs_heap_size_total_bytes'),
    externalMiB: mib('nodejs_external_memory_bytes'),
    activeHandles: metricSum(m, 'nodejs_active_handles_total'),
    activeResources: metricSum(m, 'nodejs_active_resources_total'),
    timers: m === null ? null : (metricSum(m, 'nodejs_active_resources', { type: 'Timeout' }) ?? 0),
    openFds: fds === null ? null : fds.length,
    fdKinds: kinds,
    sharedReaders: metricSum(m, 'eventstreams_shared_readers'),
    catchUpReaders: metricSum(m, 'eventstreams_catch_up_readers'),
    // Labelled by stream: no sample at all before the first client.
    connectedClients: m === null ? null : (metricSum(m, 'eventstreams_connected_clients') ?? 0),
    cacheMiB: mib('eventstreams_cache_bytes'),
    eventLoopLagP99Ms: lag === null ? null : round(lag * 1000, 1),
    disconnects: disconnectsByReason(m),
    rejected: metricSum(m, 'eventstreams_rejected_requests_total'),
    scraped: m !== null,
  };
}

/** Rows of flat records as CSV (columns of the first row; object values as `key=n;...`). */
export function toCsv(rows: readonly object[]): string {
  if (rows.length === 0) return '';
  const keys = Object.keys(rows[0]!);
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'object') return Object.entries(v).map(([k, n]) => `${k}=${String(n)}`).join(';');
    return String(v);
  };
  return `${[keys.join(','), ...rows.map((r) => keys.map((k) => cell((r as Record<string, unknown>)[k])).join(','))].join('\n')}\n`;
}
