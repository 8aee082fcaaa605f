/**
 * The service under test as a separate process (`node src/main.ts --config <file>`), with its
 * log lines summarised (counts per level, the distinct warning/error messages) and its
 * Prometheus `/metrics` scraped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from '../../scripts/lib/repo-root.ts';
import { log, type Cleanup } from './run.ts';
import { SseBlocks, SseParser } from './sse-parser.ts';

export interface LogSummary {
  /** Lines per pino level name (info, warn, error, fatal...). */
  levels: Record<string, number>;
  /** Warn and worse: count per distinct message (with the error message when logged). */
  problems: Record<string, number>;
  /** Where the whole log was written. */
  file: string;
}

export interface ServiceChild {
  url: string;
  port: number;
  pid: number;
  logs: LogSummary;
  /** Closes the process (SIGTERM, SIGKILL after 20 s); returns its exit description. */
  stop(): Promise<string>;
  exited(): string | null;
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

let logDir: string | null = null;

/**
 * Starts the service with the given config (merged over bench defaults) and waits until it
 * serves. `nodeArgs` go to node before the script (e.g. `--cpu-prof`, `--max-old-space-size=...`);
 * `env` is added to this process's environment (e.g. `MALLOC_ARENA_MAX`).
 */
export async function startServiceChild(
  cleanup: Cleanup,
  label: string,
  config: Record<string, unknown>,
  nodeArgs: string[] = [],
  timeoutMs = 60_000,
  env: Record<string, string> = {},
): Promise<ServiceChild> {
  logDir ??= await mkdtemp(join(tmpdir(), 'eventstreams-bench-'));
  const file = join(logDir, `${label}.config.yaml`);
  const full = {
    port: 0,
    listen_address: '127.0.0.1',
    log_level: 'info',
    client_ip_connection_limit: 0,
    heartbeat_interval: 15000,
    // Load generators connect from one address and may hold more than the default process cap.
    connections: { max_duration: 0, shutdown_drain_ms: 1000, max_streams: 0 },
    ...config,
  };
  // JSON is YAML.
  await writeFile(file, JSON.stringify(full, null, 2));
  const logFile = join(logDir, `${label}.log`);
  const out: WriteStream = createWriteStream(logFile);
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, 'src/main.ts', '--config', file], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  if (child.pid === undefined) throw new Error('service: no pid');
  const pid = child.pid;
  let exitInfo: string | null = null;
  const exit = new Promise<void>((r) => child.once('exit', (code, signal) => {
    exitInfo = `exit code ${code}, signal ${signal}`;
    r();
  }));
  const logs: LogSummary = { levels: {}, problems: {}, file: logFile };
  let stderrTail = '';
  const removeCleanup = cleanup.add(`service ${label} pid ${pid}`, async () => {
    await stop();
  });
  const stop = async (): Promise<string> => {
    if (exitInfo === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        log(`service ${label}: still running 20 s after SIGTERM: SIGKILL`);
        child.kill('SIGKILL');
      }, 20_000);
      await exit;
      clearTimeout(timer);
    }
    removeCleanup();
    out.end();
    return exitInfo ?? 'exited';
  };

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service ${label}: not serving after ${timeoutMs / 1000} s; log ${logFile}`)), timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      out.write(d);
      stderrTail = (stderrTail + d.toString()).slice(-4000);
    });
    void exit.then(() => {
      clearTimeout(timer);
      reject(new Error(`service ${label} ${exitInfo}: ${stderrTail.trim().slice(-1500)} (log ${logFile})`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      out.write(`${line}\n`);
      let entry: { level?: number; msg?: string; err?: { message?: string } };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      const level = LEVELS[entry.level ?? 30] ?? String(entry.level);
      logs.levels[level] = (logs.levels[level] ?? 0) + 1;
      if ((entry.level ?? 0) >= 40) {
        const key = `${level}: ${entry.msg ?? ''}${entry.err?.message !== undefined ? ` (${entry.err.message.slice(0, 200)})` : ''}`;
        logs.problems[key] = (logs.problems[key] ?? 0) + 1;
      }
      const m = /serving on (http:\/\/[^\s]+)/.exec(entry.msg ?? '');
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  const port = Number(new URL(url).port);
  return { url, port, pid, logs, stop, exited: () => exitInfo };
}

/** Prometheus samples keyed by `name{labels}` as written; null when /metrics is missing (404). */
export type MetricSamples = Map<string, number>;

export function scrapeMetrics(port: number, timeoutMs = 20_000): Promise<MetricSamples | null> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', timeout: timeoutMs, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve(null);
        return;
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve(parseMetrics(text)));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(null));
  });
}

export function parseMetrics(text: string): MetricSamples {
  const out: MetricSamples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    if (sp < 0) continue;
    const value = Number(line.slice(sp + 1));
    if (Number.isFinite(value)) out.set(line.slice(0, sp), value);
  }
  return out;
}

/** Sum of a metric's samples whose labels include every `labels` pair (null without metrics). */
export function metricSum(m: MetricSamples | null, name: string, labels: Record<string, string> = {}): number | null {
  if (m === null) return null;
  let sum = 0;
  let found = false;
  for (const [key, value] of m) {
    const brace = key.indexOf('{');
    const metric = brace < 0 ? key : key.slice(0, brace);
    if (metric !== name) continue;
    const labelText = brace < 0 ? '' : key.slice(brace);
    if (!Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) continue;
    sum += value;
    found = true;
  }
  return found ? sum : null;
}

/** Per-label-value deltas of a counter between two scrapes, e.g. fetch requests by kind. */
export function metricDeltaBy(a: MetricSamples | null, b: MetricSamples | null, name: string, label: string): Record<string, number> | null {
  if (a === null || b === null) return null;
  const values = new Set<string>();
  const re = new RegExp(`${label}="([^"]*)"`);
  for (const key of b.keys()) {
    if (!key.startsWith(`${name}{`)) continue;
    const m = re.exec(key);
    if (m !== null) values.add(m[1]!);
  }
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (metricSum(b, name, { [label]: v }) ?? 0) - (metricSum(a, name, { [label]: v }) ?? 0);
  return out;
}

/** Delta of an unlabelled (or summed) counter between two scrapes. */
export function metricDelta(a: MetricSamples | null, b: MetricSamples | null, name: string, labels: Record<string, string> = {}): number | null {
  const x = metricSum(a, name, labels);
  const y = metricSum(b, name, labels);
  return x === null || y === null ? null : y - x;
}

/**
 * The `q` quantile of what an unlabelled histogram observed between two scrapes, estimated as
 * Prometheus' `histogram_quantile` does (linear within the bucket); null with nothing observed.
 */
export function histogramQuantile(a: MetricSamples | null, b: MetricSamples | null, name: string, q: number): number | null {
  const counts = metricDeltaBy(a, b, `${name}_bucket`, 'le');
  if (counts === null) return null;
  const buckets = Object.entries(counts)
    .map(([le, count]) => ({ le: le === '+Inf' ? Infinity : Number(le), count }))
    .sort((x, y) => x.le - y.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const { le, count } of buckets) {
    if (count >= rank) {
      if (le === Infinity) return lower;
      return lower + ((le - lower) * (rank - below)) / (count - below);
    }
    lower = le;
    below = count;
  }
  return lower;
}

/** The first `event: message` of a stream request (data parsed, id as text), or null within timeoutMs. */
export function readFirstEvent(port: number, path: string, headers: Record<string, string>, timeoutMs = 10_000): Promise<{ id: string; data: unknown } | null> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: { id: string; data: unknown } | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    const req = http.get({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
      if (res.statusCode !== 200) return finish(null);
      const received = new SseBlocks();
      const parser = new SseParser(received);
      res.on('data', (d: Buffer) => {
        parser.push(d);
        const first = received.blocks.find((b) => b.event === 'message' && b.data !== undefined);
        if (first?.data === undefined) return;
        try {
          finish({ id: first.id ?? '', data: JSON.parse(first.data) as unknown });
        } catch {
          finish(null);
        }
      });
    });
    req.on('error', () => finish(null));
  });
}
