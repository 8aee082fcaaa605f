/**
 * One reading of the service's resource state for time series: RSS from /proc, and from its
 * /metrics the heap, open handles, timers, file descriptors, readers, caches, clients and
 * disconnects by reason. Shared by the long-running benchmarks (soak, slow-readers).
 */
import { readdirSync } from 'node:fs';
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

function openFds(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
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
    openFds: openFds(pid),
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
