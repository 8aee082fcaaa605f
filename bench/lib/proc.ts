/**
 * CPU and memory of processes from /proc (Linux): utime+stime ticks from /proc/<pid>/stat,
 * VmRSS/VmHWM from /proc/<pid>/status, and the whole machine's busy/steal time from /proc/stat.
 * A Monitor samples a set of named processes every 250 ms so windows get peak RSS as well.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** USER_HZ: the unit of /proc/<pid>/stat times; 100 on every mainstream Linux. */
const CLK_TCK = 100;

export interface ProcReading {
  at: number;
  cpuTicks: number;
  systemTicks: number;
  rssBytes: number;
  hwmBytes: number;
  /** Nanoseconds its main thread has been runnable but waiting for a core (schedstat), or null. */
  runDelayNs: number | null;
}

/** The main thread's run-queue wait from /proc/<pid>/task/<pid>/schedstat ("on-cpu wait slices", ns). */
function readRunDelayNs(pid: number): number | null {
  try {
    const wait = Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'latin1').split(' ')[1]);
    return Number.isFinite(wait) ? wait : null;
  } catch {
    return null;
  }
}

export function readProc(pid: number): ProcReading | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ": state is field 3, so utime (14) and stime (15) are at 11 and 12.
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const kb = (key: string): number => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
      return m === null ? 0 : Number(m[1]) * 1024;
    };
    return { at: Date.now(), cpuTicks: ticks, systemTicks: Number(fields[12]), rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM'), runDelayNs: readRunDelayNs(pid) };
  } catch {
    return null;
  }
}

export interface MachineReading {
  at: number;
  total: number;
  idle: number;
  steal: number;
}

export function readMachine(): MachineReading {
  const line = readFileSync('/proc/stat', 'latin1').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { at: Date.now(), total, idle: (v[3] ?? 0) + (v[4] ?? 0), steal: v[7] ?? 0 };
}

/** What the kernel's TCP counters say went wrong (TcpExt in /proc/net/netstat), since boot. */
export interface TcpTrouble {
  /** Times all sockets' buffers together went past `net.ipv4.tcp_mem`'s pressure threshold. */
  memoryPressures: number;
  /** Retransmission timeouts: a segment not acknowledged in time (on loopback: one the receiver dropped). */
  timeouts: number;
  /** Segments a receiver dropped because its socket could not take them (memory). */
  receiveQueueDrops: number;
  /** Closed connections whose unsent data the kernel discarded for memory. */
  abortedForMemory: number;
}

/** The host's TCP memory now, and its trouble counters. */
export interface TcpKernelReading extends TcpTrouble {
  /** Pages held in all TCP sockets' buffers (`/proc/net/sockstat`); on loopback both ends count. */
  memPages: number;
  /** Whether the kernel is under TCP memory pressure now (it cuts every socket's buffers back). */
  underPressure: boolean;
}

const TROUBLE: Record<keyof TcpTrouble, string> = {
  memoryPressures: 'TCPMemoryPressures',
  timeouts: 'TCPTimeouts',
  receiveQueueDrops: 'TCPRcvQDrop',
  abortedForMemory: 'TCPAbortOnMemory',
};

/** Null off Linux, or when a figure is missing. */
export function readTcpKernel(): TcpKernelReading | null {
  try {
    const mem = /^TCP:.*\bmem (\d+)/m.exec(readFileSync('/proc/net/sockstat', 'latin1'));
    // "protocol size sockets memory press ...": press is yes, no or NI.
    const press = /^TCP\s+\S+\s+\S+\s+\S+\s+(\S+)/m.exec(readFileSync('/proc/net/protocols', 'latin1'));
    // Two "TcpExt:" lines: the counters' names, then their values.
    const [names, values] = readFileSync('/proc/net/netstat', 'latin1')
      .split('\n')
      .filter((l) => l.startsWith('TcpExt:'))
      .map((l) => l.trim().split(/\s+/).slice(1));
    if (mem === null || press === null || names === undefined || values === undefined) return null;
    const trouble = {} as TcpTrouble;
    for (const [key, name] of Object.entries(TROUBLE) as [keyof TcpTrouble, string][]) {
      const i = names.indexOf(name);
      if (i < 0 || values[i] === undefined) return null;
      trouble[key] = Number(values[i]);
    }
    return { memPages: Number(mem[1]), underPressure: press[1] === 'yes', ...trouble };
  } catch {
    return null;
  }
}

/** What went wrong between two readings. */
export function tcpTroubleBetween(from: TcpKernelReading | null, to: TcpKernelReading | null): TcpTrouble | null {
  if (from === null || to === null) return null;
  const delta = {} as TcpTrouble;
  for (const key of Object.keys(TROUBLE) as (keyof TcpTrouble)[]) delta[key] = to[key] - from[key];
  return delta;
}

export interface ProcWindow {
  /** Percent of ONE core over the window (200 = two cores busy). */
  cpuPct: number | null;
  cpuSeconds: number | null;
  /** The kernel's share of cpuPct (system time: socket writes/reads, page faults). */
  systemPct: number | null;
  rssStartMiB: number | null;
  rssPeakMiB: number | null;
  rssEndMiB: number | null;
  /** Peak RSS over the process's whole life (VmHWM). */
  lifetimePeakMiB: number | null;
  /**
   * Milliseconds per second its main thread was ready to run but waited for a core (the machine
   * busy with other processes): time that stretches whatever it was doing, a write pass included.
   */
  runWaitMsPerSec: number | null;
}

export interface MachineWindow {
  cores: number;
  /** Percent of all cores busy (any process). */
  busyPct: number;
  /** The same in percent of one core (200 = both cores of a 2-core machine busy). */
  busyCorePct: number;
  /** Percent of time the hypervisor gave our vCPUs to others (noisy neighbours). */
  stealPct: number;
}

export interface Mark {
  at: number;
  procs: Map<string, ProcReading | null>;
  machine: MachineReading;
}

const MiB = 2 ** 20;
const mib = (b: number): number => Math.round((b / MiB) * 10) / 10;

export class Monitor {
  readonly #pids = new Map<string, number>();
  readonly #samples = new Map<string, ProcReading[]>();
  readonly #timer: NodeJS.Timeout;

  constructor(intervalMs = 250) {
    this.#timer = setInterval(() => this.#sample(), intervalMs);
    this.#timer.unref();
  }

  watch(name: string, pid: number): void {
    this.#pids.set(name, pid);
    this.#samples.set(name, []);
    this.#sample();
  }

  unwatch(name: string): void {
    this.#pids.delete(name);
    this.#samples.delete(name);
  }

  #sample(): void {
    for (const [name, pid] of this.#pids) {
      const r = readProc(pid);
      if (r === null) continue;
      const list = this.#samples.get(name);
      if (list === undefined) continue;
      list.push(r);
      // Keep ~1 h at 4 samples/s.
      if (list.length > 15_000) list.splice(0, list.length - 15_000);
    }
  }

  mark(): Mark {
    this.#sample();
    const procs = new Map<string, ProcReading | null>();
    for (const [name, pid] of this.#pids) procs.set(name, readProc(pid));
    return { at: Date.now(), procs, machine: readMachine() };
  }

  /** Figures of process `name` between two marks. */
  proc(name: string, from: Mark, to: Mark): ProcWindow {
    const a = from.procs.get(name) ?? null;
    const b = to.procs.get(name) ?? null;
    const inWindow = (this.#samples.get(name) ?? []).filter((s) => s.at >= from.at && s.at <= to.at);
    const peak = Math.max(0, ...inWindow.map((s) => s.rssBytes), a?.rssBytes ?? 0, b?.rssBytes ?? 0);
    const secs = (to.at - from.at) / 1000;
    const cpuSeconds = a !== null && b !== null ? (b.cpuTicks - a.cpuTicks) / CLK_TCK : null;
    return {
      cpuPct: cpuSeconds !== null && secs > 0 ? Math.round((1000 * cpuSeconds) / secs) / 10 : null,
      cpuSeconds,
      systemPct: a !== null && b !== null && secs > 0 ? Math.round((1000 * (b.systemTicks - a.systemTicks)) / CLK_TCK / secs) / 10 : null,
      rssStartMiB: a !== null ? mib(a.rssBytes) : null,
      rssPeakMiB: peak > 0 ? mib(peak) : null,
      rssEndMiB: b !== null ? mib(b.rssBytes) : null,
      lifetimePeakMiB: b !== null ? mib(b.hwmBytes) : a !== null ? mib(a.hwmBytes) : null,
      runWaitMsPerSec: a?.runDelayNs == null || b?.runDelayNs == null || secs <= 0 ? null : Math.round((b.runDelayNs - a.runDelayNs) / 1e5 / secs) / 10,
    };
  }

  machine(from: Mark, to: Mark): MachineWindow {
    const total = to.machine.total - from.machine.total;
    const idle = to.machine.idle - from.machine.idle;
    const steal = to.machine.steal - from.machine.steal;
    return {
      cores: cpus().length,
      busyPct: total > 0 ? Math.round((1000 * (total - idle)) / total) / 10 : 0,
      busyCorePct: total > 0 ? Math.round((1000 * cpus().length * (total - idle)) / total) / 10 : 0,
      stealPct: total > 0 ? Math.round((1000 * steal) / total) / 10 : 0,
    };
  }

  /** CPU (percent of one core) the machine spent between two marks outside the watched processes `ours`. */
  otherLoadPct(from: Mark, to: Mark, ours: readonly string[]): number {
    const own = ours.reduce((sum, name) => sum + (this.proc(name, from, to).cpuPct ?? 0), 0);
    return Math.max(0, Math.round(this.machine(from, to).busyCorePct - own));
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

export interface MemoryMap {
  /** Resident anonymous memory (heap pages, malloc, stacks): the process's own. */
  rssAnonMiB: number;
  /** Resident file-backed pages (the node binary, shared libraries): shared with other processes. */
  rssFileMiB: number;
  /** The main malloc arena (`[heap]`, grown by brk: the main thread's malloc). */
  brkHeapMiB: number;
  /**
   * glibc's other malloc arenas (one per thread that allocated, up to 8 per core; at most
   * MALLOC_ARENA_MAX): anonymous 64 MiB regions aligned to 64 MiB, resident part.
   */
  threadArenas: number;
  threadArenasMiB: number;
  /** Every other resident anonymous mapping (V8 heap pages, code space, wasm memory, stacks). */
  otherAnonMiB: number;
  threads: number;
}

/** A classification of the process's resident memory from /proc/<pid>/smaps (Linux), or null. */
export function readMemoryMap(pid: number): MemoryMap | null {
  let text: string;
  let threads = 0;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'latin1');
    threads = Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] ?? 0);
  } catch {
    return null;
  }
  const maps: { start: bigint; end: bigint; name: string; rss: number; anon: number }[] = [];
  let cur: (typeof maps)[number] | null = null;
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m !== null) {
      cur = { start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), name: m[3] ?? '', rss: 0, anon: 0 };
      maps.push(cur);
      continue;
    }
    if (cur === null) continue;
    const r = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (r?.[1] === 'Rss') cur.rss = Number(r[2]) * 1024;
    else if (r?.[1] === 'Anonymous') cur.anon = Number(r[2]) * 1024;
  }
  const ARENA = 64n << 20n;
  let anon = 0;
  let file = 0;
  let brk = 0;
  let arenas = 0;
  let arenaBytes = 0;
  for (let i = 0; i < maps.length; i++) {
    const map = maps[i]!;
    anon += map.anon;
    file += map.rss - map.anon;
    if (map.name === '[heap]') brk += map.rss;
    else if (map.name === '' && map.start % ARENA === 0n) {
      // An arena: its used part, then (maybe) its reserved rest, ending exactly 64 MiB later.
      const next = maps[i + 1];
      const end = next !== undefined && next.name === '' && next.start === map.end ? next.end : map.end;
      if (end - map.start === ARENA) {
        arenas++;
        arenaBytes += map.rss + (next !== undefined && end === next.end ? next.rss : 0);
      }
    }
  }
  return { rssAnonMiB: mib(anon), rssFileMiB: mib(file), brkHeapMiB: mib(brk), threadArenas: arenas, threadArenasMiB: mib(arenaBytes), otherAnonMiB: mib(anon - brk - arenaBytes), threads };
}
