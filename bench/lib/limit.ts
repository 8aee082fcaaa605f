/**
 * Runs the bare-Node fan-out ceiling, bench/lib/limit-fanout.mjs, in client mode (it forks
 * its own server) and reads its one-line JSON report. It runs in its own process group so the
 * forked server is stopped with it on timeout or Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { readProc } from './proc.ts';
import { log, type Cleanup } from './run.ts';
import { round } from './stats.ts';

const LIMIT_TOOL = fileURLToPath(new URL('limit-fanout.mjs', import.meta.url));

/**
 * Mean bytes one limit-fanout event takes on the wire for seqs 0..events-1: its frame (as the
 * tool writes it, with a 13-digit time) plus HTTP chunk framing (one write per 10 ms tick, i.e.
 * about one event per chunk at 100 events/s). Its own `expectedMiB` assumes 690 B flat.
 */
export function limitBytesPerEvent(events: number): number {
  const pad = 'x'.repeat(600);
  let total = 0;
  const n = Math.max(1, events);
  for (let s = 0; s < n; s++) {
    const frame = Buffer.byteLength(`event: message\nid: [{"topic":"t","partition":0,"offset":${s}}]\ndata: {"seq":${s},"sent":1700000000000,"pad":"${pad}"}\n\n`);
    total += frame + frame.toString(16).length + 4;
  }
  return total / n;
}

/** What limit-fanout prints (see the tool). */
export interface LimitRaw {
  clients: number;
  eventsPerSec: number;
  seconds: number;
  deliveredMiB: number;
  expectedMiB: number;
  events: number;
  p50: number;
  p99: number;
  max: number;
  serverCpuSec: number;
  serverCpuPct: number;
  serverRssMiB: number;
}

export interface LimitResult {
  ok: boolean;
  error: string | null;
  raw: LimitRaw | null;
  /** Events delivered to all clients per second, from its delivered bytes / bytes per event. */
  deliveredEventsPerSec: number | null;
  deliveredFraction: number | null;
  deliveredMiBPerSec: number | null;
  /** CPU of its client process over its whole run (connect + measure), percent of one core. */
  clientCpuPct: number | null;
  wallSeconds: number;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function runLimitFanout(cleanup: Cleanup, clients: number, seconds: number): Promise<LimitResult> {
  const started = Date.now();
  const fail = (error: string): LimitResult => ({
    ok: false,
    error,
    raw: null,
    deliveredEventsPerSec: null,
    deliveredFraction: null,
    deliveredMiBPerSec: null,
    clientCpuPct: null,
    wallSeconds: Math.round((Date.now() - started) / 1000),
  });
  const port = await freePort();
  log(`limit-fanout: ${clients} clients, ${seconds} s on port ${port}`);
  const child = spawn(process.execPath, [LIMIT_TOOL, 'client', String(port), String(clients), String(seconds)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) return fail('no pid');
  const pgid = child.pid;
  const killGroup = (): void => {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const remove = cleanup.add(`limit-fanout group ${pgid}`, async () => killGroup());
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  let lastCpu = readProc(pgid);
  const first = lastCpu;
  const sampler = setInterval(() => {
    lastCpu = readProc(pgid) ?? lastCpu;
  }, 250);
  const timeoutMs = (seconds + clients / 200 + 60) * 1000;
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      killGroup();
      resolve('timeout');
    }, timeoutMs);
    child.once('exit', (c, s) => {
      clearTimeout(timer);
      resolve(c ?? String(s));
    });
  });
  clearInterval(sampler);
  // Its forked server is killed by the client; make sure nothing of the group survives.
  killGroup();
  remove();
  const wall = (Date.now() - started) / 1000;
  const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (code !== 0 || line === undefined) return fail(`limit-fanout ended with ${code}: ${stderr.trim().slice(-500)}`);
  const raw = JSON.parse(line) as LimitRaw;
  const expectedBytes = raw.events * raw.clients * limitBytesPerEvent(raw.events);
  const fraction = expectedBytes > 0 ? (raw.deliveredMiB * 2 ** 20) / expectedBytes : null;
  const cpuPct = first !== null && lastCpu !== null && wall > 0 ? round((lastCpu.cpuTicks - first.cpuTicks) / wall, 1) : null;
  return {
    ok: true,
    error: null,
    raw,
    deliveredEventsPerSec: fraction !== null ? round((fraction * raw.events * raw.clients) / raw.seconds, 0) : null,
    deliveredFraction: round(fraction, 4),
    deliveredMiBPerSec: round(raw.deliveredMiB / raw.seconds, 1),
    clientCpuPct: cpuPct,
    wallSeconds: Math.round(wall),
  };
}
