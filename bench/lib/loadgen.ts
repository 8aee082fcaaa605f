/**
 * The load generator: a child process (forked by bench/lib/loadgen-client.ts) holding N raw
 * `net` connections to the service, each a `GET /v2/stream/... HTTP/1.1`. Built to stay cheap at
 * 10k clients: all sockets read into ONE shared buffer (`onread`), most clients only count bytes,
 * and only the sampled clients (every `sampleEvery`-th, or all with `trackAll`) decode chunked
 * HTTP and SSE frames to get latency (`bench.sent_ms`), seqs and their last event id. With
 * `encodings`, each client asks for its content coding (`Accept-Encoding`) and the sampled ones
 * decompress the body with a streaming node:zlib decoder (bench/lib/encodings.ts) before parsing
 * it; their latency is taken, as for identity clients, at the read that brought the event's last
 * bytes, and the decoders' own delay is reported apart (`decodeDelayMs`).
 * Never run directly; it exits when its parent goes away. Only ever connects to 127.0.0.1.
 */
import net from 'node:net';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type {
  ChurnRequest,
  CheckRequest,
  CheckResult,
  ClientTimes,
  CodingWindow,
  ConnectRequest,
  ConnectResult,
  Envelope,
  FrameCheck,
  GenStatus,
  GenUsage,
  InitRequest,
  Reply,
  Request,
  StormRequest,
  StormResult,
  WaitSeqResult,
  WindowResult,
} from './loadgen-protocol.ts';
import { BenchFrames } from './bench-frames.ts';
import { bodyDecoder, codingOf, responseCoding, type BodyDecoder, type Coding } from './encodings.ts';
import { HttpResponseReader } from './http-response-reader.ts';
import { SeqDigests, SeqTracker } from './seq-tracker.ts';
import { SseParser } from './sse-parser.ts';
import { percentiles } from './stats.ts';

const HOST = '127.0.0.1';
const SHARED = Buffer.allocUnsafe(256 * 1024);
const MAX_EXAMPLES = 10;

let cfg: InitRequest = { type: 'init', port: 0, path: '/', sampleEvery: 50, trackAll: false, reconnectOnDrop: false, reconnectDelayMs: 1000 };
/** Date.now() of the read being handled: one clock read per socket read, not per event. */
let readNow = 0;
let inWindow = false;
let stopping = false;
let watchSeq = -1;

const latencies: number[] = [];
let sampledEvents = 0;
let sampledBytes = 0;
let sampledDecodedBytes = 0;

/** Window figures of the parsed clients of one coding (asked for). */
interface CodingStats {
  sampledEvents: number;
  sampledBytes: number;
  sampledDecodedBytes: number;
  latencies: number[];
  decodeDelays: number[];
}
const codingStats = new Map<Coding, CodingStats>();
/** Codings that have a sampled client. */
const codingsSampled = new Set<Coding>();

function statsOf(coding: Coding): CodingStats {
  let stats = codingStats.get(coding);
  if (stats === undefined) {
    stats = { sampledEvents: 0, sampledBytes: 0, sampledDecodedBytes: 0, latencies: [], decodeDelays: [] };
    codingStats.set(coding, stats);
  }
  return stats;
}
let drops = 0;
let reconnects = 0;
let named: Record<string, number> = {};
let namedExamples: string[] = [];
let errors: Record<string, number> = {};
/** Lifetime counters (`status`), never reset. */
const life = { drops: 0, reconnects: 0, churnCycles: 0, churnAttempts: 0, churnFailures: 0, statuses: {} as Record<string, number>, errors: {} as Record<string, number>, named: {} as Record<string, number>, events: 0 };

type Settle = (ok: boolean, status: number | null, error: string | null) => void;

class Client {
  readonly index: number;
  readonly parsed: boolean;
  readonly sampled: boolean;
  readonly tracker: SeqTracker | null;
  readonly digests: SeqDigests | null;
  readonly sse: SseParser | null;
  /** The coding it asks for (identity also when the generator sends no Accept-Encoding). */
  readonly coding: Coding;
  readonly stats: CodingStats;
  /** The coding of the current response (its Content-Encoding); null before its head. */
  answered: Coding | null = null;
  /** The decoder of the current response's body (parsed clients with a compressed body). */
  decoder: BodyDecoder | null = null;
  /**
   * Read times of the writes the decoder has not finished, oldest first: zlib decodes them in order
   * and hands out a write's output before its callback, so what comes out belongs to the first.
   */
  readonly #pendingReads: number[] = [];
  readonly path: string;
  /** Whether the client's filter lets seq through (every seq without filters). */
  readonly wants: (seq: number) => boolean;
  /** False when its filter matches none of the events. */
  readonly expectsEvents: boolean;
  sock: net.Socket | null = null;
  reader: HttpResponseReader | null = null;
  open = false;
  intentionalClose = false;
  connectAt = 0;
  headAt: number | null = null;
  firstEventAt: number | null = null;
  watchAt: number | null = null;
  events = 0;
  bytes = 0;
  bytesAtConnect = 0;
  winBytes = 0;
  settle: Settle | null = null;
  /** Called on the first event after a (re)connect. */
  onFirstEvent: (() => void) | null = null;
  /** Churn: when this client closes and resumes next. */
  churnTimer: NodeJS.Timeout | null = null;
  /** Not reading its socket (cfg.stall), until `resume-all`. */
  stalled = false;

  constructor(index: number) {
    this.index = index;
    this.coding = cfg.encodings === undefined ? 'identity' : codingOf(index, cfg.encodings, cfg.sampleEvery);
    this.stats = statsOf(this.coding);
    // The first client of each coding is sampled too, so every coding's bytes per event are known.
    this.sampled = index % cfg.sampleEvery === 0 || !codingsSampled.has(this.coding);
    if (this.sampled) codingsSampled.add(this.coding);
    this.parsed = cfg.trackAll || this.sampled;
    this.tracker = this.parsed ? new SeqTracker() : null;
    this.digests = this.parsed && cfg.digests === true ? new SeqDigests() : null;
    const filters = cfg.filters;
    const q = filters === undefined ? -1 : index % filters.queries.length;
    this.path = filters === undefined ? cfg.path : `${cfg.path}?${filters.queries[q]}`;
    const matched = new Set(filters?.matches[q] ?? []);
    this.wants = filters === undefined ? () => true : (seq) => matched.has(seq % filters.templates);
    this.expectsEvents = filters === undefined || matched.size > 0;
    this.sse = this.parsed
      ? new SseParser(
          new BenchFrames({
            message: (seq, sent, digest) => this.#message(seq, sent, digest),
            named: (kind, text) => {
              named[kind] = (named[kind] ?? 0) + 1;
              bump(life.named, kind);
              if (namedExamples.length < MAX_EXAMPLES) namedExamples.push(`client ${this.index}: ${text.slice(0, 500)}`);
            },
          }, this.digests !== null),
        )
      : null;
  }

  #message(seq: number, sent: number, digest: number): void {
    this.events++;
    life.events++;
    this.tracker?.add(seq);
    this.digests?.set(seq, digest);
    if (seq === watchSeq && this.watchAt === null) this.watchAt = readNow;
    if (this.firstEventAt === null) this.#first();
    if (inWindow) {
      sampledEvents++;
      this.stats.sampledEvents++;
      if (this.sampled && sent > 0) {
        latencies.push(readNow - sent);
        this.stats.latencies.push(readNow - sent);
      }
    }
  }

  /** Body bytes of the response (de-chunked): to the SSE parser, through a decoder when compressed. */
  #body(buf: Buffer, start: number, end: number): void {
    if (this.answered === null) this.answered = responseCoding(this.reader?.head?.contentEncoding);
    const sse = this.sse!;
    if (this.answered === 'identity') {
      this.#decoded(end - start);
      sse.push(buf, start, end);
      return;
    }
    if (this.decoder === null) {
      const decoder = bodyDecoder(this.answered);
      decoder.on('data', (out: Buffer) => {
        if (this.decoder !== decoder) return;
        // Events are timed by the read that brought their bytes, as identity clients' are; the
        // decoder's own delay (the generator's share, not the server's) is reported apart.
        readNow = this.#pendingReads[0] ?? Date.now();
        this.#decoded(out.length);
        sse.push(out);
      });
      decoder.on('error', (error: Error) => {
        if (this.decoder !== decoder) return;
        const code = `decode ${this.answered}: ${error.message}`;
        errors[code] = (errors[code] ?? 0) + 1;
        bump(life.errors, code);
        this.sock?.destroy();
      });
      this.decoder = decoder;
    }
    // A copy: the input is a view of the shared read buffer, and zlib works on it later.
    const readAt = readNow;
    const counted = inWindow;
    const decoder = this.decoder;
    this.#pendingReads.push(readAt);
    decoder.write(Buffer.from(buf.subarray(start, end)), () => {
      if (this.decoder !== decoder) return;
      this.#pendingReads.shift();
      if (counted && inWindow) this.stats.decodeDelays.push(Date.now() - readAt);
    });
  }

  #decoded(n: number): void {
    if (!inWindow) return;
    sampledDecodedBytes += n;
    this.stats.sampledDecodedBytes += n;
  }

  #dropDecoder(): void {
    this.decoder?.destroy();
    this.decoder = null;
    this.#pendingReads.length = 0;
  }

  #first(): void {
    this.firstEventAt = readNow;
    const cb = this.onFirstEvent;
    this.onFirstEvent = null;
    cb?.();
  }

  /** Opens (or reopens) the stream; `settle` gets the outcome of the response head. */
  connect(extraHeaders: Record<string, string>, useLastId: boolean, settle: Settle | null): void {
    this.settle = settle;
    this.intentionalClose = false;
    this.open = false;
    this.headAt = null;
    this.firstEventAt = null;
    this.connectAt = Date.now();
    this.bytesAtConnect = this.bytes;
    this.sse?.reset();
    this.answered = null;
    this.#dropDecoder();
    this.reader = new HttpResponseReader(this.sse === null ? null : (buf, start, end) => this.#body(buf, start, end));
    let headers = `GET ${this.path} HTTP/1.1\r\nHost: ${HOST}:${cfg.port}\r\nAccept: text/event-stream\r\nUser-Agent: eventstreams-bench/1\r\n`;
    if (cfg.encodings !== undefined) headers += `Accept-Encoding: ${this.coding}\r\n`;
    for (const [k, v] of Object.entries(extraHeaders)) headers += `${k}: ${v}\r\n`;
    const lastId = this.sse?.lastEventId ?? null;
    if (useLastId && lastId !== null) headers += `Last-Event-ID: ${lastId}\r\n`;
    const request = `${headers}\r\n`;
    const sock = net.connect({
      host: HOST,
      port: cfg.port,
      onread: {
        buffer: SHARED,
        // false pauses the socket: a stalled client stops reading after its response head.
        callback: (n: number) => this.#read(n),
      },
    });
    this.sock = sock;
    sock.setNoDelay(true);
    sock.once('connect', () => sock.write(request));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? err.message;
      errors[code] = (errors[code] ?? 0) + 1;
      bump(life.errors, code);
    });
    sock.once('close', () => {
      if (this.sock !== sock) return;
      this.sock = null;
      this.#dropDecoder();
      const wasOpen = this.open;
      this.open = false;
      if (this.settle !== null) {
        const s = this.settle;
        this.settle = null;
        s(false, null, 'closed before response head');
        return;
      }
      if (this.intentionalClose || stopping || !wasOpen) return;
      drops++;
      life.drops++;
      if (cfg.reconnectOnDrop) this.#reconnectAfterDrop();
    });
  }

  /** Like EventSource: resumes with its last id after the delay, and again after a refused attempt (503...). */
  #reconnectAfterDrop(): void {
    setTimeout(() => {
      if (stopping || this.sock !== null) return;
      reconnects++;
      life.reconnects++;
      this.connect({}, true, (ok) => {
        if (!ok) this.#reconnectAfterDrop();
      });
    }, cfg.reconnectDelayMs).unref();
  }

  /** Returns false to stop reading the socket (a stalled client). */
  #read(n: number): boolean {
    readNow = Date.now();
    const view = SHARED.subarray(0, n);
    const reader = this.reader;
    if (reader === null) return true;
    if (reader.head !== null && !this.parsed) {
      this.winBytes += n;
      this.bytes += n;
      // Unparsed clients: more than the ":ok" preamble means events are arriving.
      if (this.firstEventAt === null && this.bytes - this.bytesAtConnect > 64) this.#first();
      return !this.stalled;
    }
    const hadHead = reader.head !== null;
    let bodyBytes: number;
    try {
      bodyBytes = reader.push(view);
    } catch (error) {
      const code = `parse: ${(error as Error).message}`;
      errors[code] = (errors[code] ?? 0) + 1;
      bump(life.errors, code);
      this.sock?.destroy();
      return true;
    }
    this.winBytes += bodyBytes;
    this.bytes += bodyBytes;
    if (this.parsed && inWindow) {
      sampledBytes += bodyBytes;
      this.stats.sampledBytes += bodyBytes;
    }
    if (!hadHead && reader.head !== null) {
      this.headAt = readNow;
      this.answered ??= responseCoding(reader.head.contentEncoding);
      const status = reader.head.status;
      const ok = status === 200;
      bump(life.statuses, String(status));
      if (ok) {
        this.open = true;
        if (cfg.stall === true) this.stalled = true;
      }
      const s = this.settle;
      this.settle = null;
      s?.(ok, status, null);
      if (!ok) {
        this.intentionalClose = true;
        this.sock?.destroy();
      }
    }
    return !this.stalled;
  }

  /** Reads its socket again (a stalled client). */
  resume(): void {
    if (!this.stalled) return;
    this.stalled = false;
    this.sock?.resume();
  }

  close(): void {
    this.intentionalClose = true;
    this.open = false;
    this.sock?.destroy();
    this.sock = null;
    this.#dropDecoder();
  }
}

const clients: Client[] = [];
let windowStart = 0;
let cpuAtWindow = process.cpuUsage();
let eluAtWindow: EventLoopUtilization = performance.eventLoopUtilization();

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

function connectMany(req: ConnectRequest): Promise<ConnectResult> {
  const started = performance.now();
  const statuses: Record<string, number> = {};
  const errs: Record<string, number> = {};
  const codings: Record<string, number> = {};
  const headLat: number[] = [];
  const batch: Client[] = [];
  let next = 0;
  let pending = 0;
  let connected = 0;
  let failed = 0;
  return new Promise((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      let timedOut = 0;
      for (const c of batch) {
        if (c.settle !== null) {
          c.settle = null;
          timedOut++;
          c.close();
        }
      }
      resolve({
        requested: req.count,
        connected,
        codings,
        failed,
        timedOut,
        ms: Math.round(performance.now() - started),
        statuses,
        errors: errs,
        headLatency: percentiles(headLat),
      });
    };
    const timer = setTimeout(finish, req.timeoutMs);
    const pump = (): void => {
      while (!done && pending < req.maxPending && next < req.count) {
        next++;
        pending++;
        const c = new Client(clients.length);
        clients.push(c);
        batch.push(c);
        c.connect(req.headers, false, (ok, status, error) => {
          pending--;
          if (status !== null) bump(statuses, String(status));
          if (error !== null) bump(errs, error);
          if (ok) {
            connected++;
            headLat.push(Date.now() - c.connectAt);
            if (cfg.encodings !== undefined) bump(codings, `${c.coding}→${c.answered ?? '?'}`);
          } else failed++;
          // Let the event loop breathe between bursts of new connections.
          if (next < req.count) setImmediate(pump);
          else if (pending === 0) finish();
        });
      }
      if (next >= req.count && pending === 0) finish();
    };
    pump();
  });
}

function usage(): GenUsage {
  const cpu = process.cpuUsage(cpuAtWindow);
  return {
    cpuUserMs: Math.round(cpu.user / 1000),
    cpuSystemMs: Math.round(cpu.system / 1000),
    rssBytes: process.memoryUsage.rss(),
    elu: Number(performance.eventLoopUtilization(eluAtWindow).utilization.toFixed(3)),
  };
}

function startWindow(): void {
  for (const c of clients) c.winBytes = 0;
  latencies.length = 0;
  sampledEvents = 0;
  sampledBytes = 0;
  sampledDecodedBytes = 0;
  for (const stats of codingStats.values()) {
    stats.sampledEvents = 0;
    stats.sampledBytes = 0;
    stats.sampledDecodedBytes = 0;
    stats.latencies.length = 0;
    stats.decodeDelays.length = 0;
  }
  drops = 0;
  reconnects = 0;
  named = {};
  namedExamples = [];
  errors = {};
  windowStart = performance.now();
  cpuAtWindow = process.cpuUsage();
  eluAtWindow = performance.eventLoopUtilization();
  inWindow = true;
}

function endWindow(): WindowResult {
  inWindow = false;
  const ms = performance.now() - windowStart;
  const open = clients.filter((c) => c.open);
  const per = Float64Array.from(open.map((c) => c.winBytes)).sort();
  let bytes = 0;
  for (const c of clients) bytes += c.winBytes;
  const at = (q: number): number => (per.length === 0 ? 0 : per[Math.min(per.length - 1, Math.floor(q * per.length))]!);
  const median = at(0.5);
  const sampled = clients.filter((c) => c.parsed).length;
  const byCoding: Record<string, CodingWindow> = {};
  for (const c of clients) {
    const w = (byCoding[c.coding] ??= {
      openClients: 0,
      bytes: 0,
      sampledClients: 0,
      sampledEvents: 0,
      sampledBytes: 0,
      sampledDecodedBytes: 0,
      estimatedEvents: 0,
      estimatedDecodedBytes: 0,
      latencyMs: percentiles([]),
      decodeDelayMs: percentiles([]),
    });
    w.bytes += c.winBytes;
    if (c.open) w.openClients++;
    if (c.parsed) w.sampledClients++;
  }
  let estimatedEvents = 0;
  let estimatedDecodedBytes = 0;
  for (const [coding, w] of Object.entries(byCoding)) {
    const stats = statsOf(coding as Coding);
    w.sampledEvents = stats.sampledEvents;
    w.sampledBytes = stats.sampledBytes;
    w.sampledDecodedBytes = stats.sampledDecodedBytes;
    // Each coding on its own: its bytes per event differ.
    w.estimatedEvents = stats.sampledBytes > 0 ? Math.round((w.bytes * stats.sampledEvents) / stats.sampledBytes) : 0;
    w.estimatedDecodedBytes = stats.sampledBytes > 0 ? Math.round((w.bytes * stats.sampledDecodedBytes) / stats.sampledBytes) : 0;
    w.latencyMs = percentiles(stats.latencies);
    w.decodeDelayMs = percentiles(stats.decodeDelays);
    estimatedEvents += w.estimatedEvents;
    estimatedDecodedBytes += w.estimatedDecodedBytes;
  }
  return {
    ms: Math.round(ms),
    openClients: open.length,
    bytes,
    sampledClients: sampled,
    sampledEvents,
    sampledBytes,
    sampledDecodedBytes,
    estimatedEvents,
    estimatedDecodedBytes,
    byCoding,
    latencyMs: percentiles(latencies),
    decodeDelayMs: percentiles([...codingStats.values()].flatMap((c) => c.decodeDelays)),
    perClientBytes: {
      min: per.length > 0 ? per[0]! : 0,
      p1: at(0.01),
      p50: median,
      max: per.length > 0 ? per[per.length - 1]! : 0,
      belowHalfMedian: per.filter((b) => b < median / 2).length,
    },
    drops,
    reconnects,
    named: { ...named },
    namedExamples: [...namedExamples],
    errors: { ...errors },
    usage: usage(),
  };
}

function check(req: CheckRequest): CheckResult {
  const exclude = new Set(req.exclude);
  const result: CheckResult = {
    clientsChecked: 0,
    clientsWithGaps: 0,
    clientsBehind: 0,
    clientsWithDuplicates: 0,
    missing: 0,
    behind: 0,
    duplicates: 0,
    duplicatesAnywhere: 0,
    examples: [],
  };
  for (const c of clients) {
    if (c.tracker === null) continue;
    result.clientsChecked++;
    const r = c.tracker.check(req.fromSeq, req.toSeq, exclude, Math.max(1, req.stride), c.wants);
    const anywhere = c.tracker.duplicatesAnywhere(exclude);
    result.missing += r.holes;
    result.behind += r.behind;
    result.duplicates += r.duplicates;
    result.duplicatesAnywhere += anywhere;
    if (r.holes > 0) result.clientsWithGaps++;
    if (r.behind > 0) result.clientsBehind++;
    if (r.duplicates > 0 || anywhere > 0) result.clientsWithDuplicates++;
    if ((r.holes > 0 || r.duplicates > 0) && result.examples.length < MAX_EXAMPLES) {
      result.examples.push({ client: c.index, firstMissing: r.firstHole, firstDuplicate: r.firstDuplicate, missing: r.holes, behind: r.behind, duplicates: r.duplicates, maxSeq: c.tracker.max });
    }
  }
  if (cfg.digests === true) result.frames = checkFrames(req.fromSeq, req.toSeq, exclude);
  return result;
}

/**
 * Every seq of the range as the parsed clients decoded it, against one reference client per seq
 * (an identity client when one has it): the same `id` and `data` bytes, whatever the coding.
 */
function checkFrames(from: number, to: number, exclude: ReadonlySet<number>): FrameCheck {
  const withDigests = clients.filter((c) => c.digests !== null);
  // Identity clients first: they are the reference.
  const ordered = [...withDigests.filter((c) => c.answered === 'identity'), ...withDigests.filter((c) => c.answered !== 'identity')];
  const out: FrameCheck = { seqsCompared: 0, compared: 0, mismatched: 0, clientsByCoding: {}, examples: [] };
  for (const c of withDigests) bump(out.clientsByCoding, c.answered ?? '?');
  for (let s = from; s <= to; s++) {
    if (exclude.has(s)) continue;
    let reference = -1;
    let referenceClient: Client | null = null;
    let compared = 0;
    for (const c of ordered) {
      const d = c.digests!.get(s);
      if (d < 0) continue;
      if (referenceClient === null) {
        reference = d;
        referenceClient = c;
        continue;
      }
      compared++;
      if (d !== reference) {
        out.mismatched++;
        if (out.examples.length < MAX_EXAMPLES) out.examples.push({ client: c.index, coding: c.answered ?? '?', seq: s, reference: referenceClient.index });
      }
    }
    out.compared += compared;
    if (compared > 0) out.seqsCompared++;
  }
  return out;
}

async function waitSeq(seq: number, timeoutMs: number): Promise<WaitSeqResult> {
  const started = performance.now();
  watchSeq = seq;
  const tracked = clients.filter((c) => c.tracker !== null);
  for (const c of tracked) c.watchAt = c.tracker!.count(seq) > 0 ? (c.watchAt ?? Date.now()) : null;
  const reachedCount = (): number => tracked.filter((c) => c.tracker!.count(seq) > 0).length;
  // Clients that are gone for good (closed, no reconnect) cannot reach it: stop waiting then.
  const allGone = (): boolean => !cfg.reconnectOnDrop && tracked.every((c) => c.sock === null || (!c.open && c.settle === null));
  while (reachedCount() < tracked.length && performance.now() - started < timeoutMs && !allGone()) await sleep(20);
  const reached = reachedCount();
  let last: number | null = null;
  for (const c of tracked) if (c.watchAt !== null && (last === null || c.watchAt > last)) last = c.watchAt;
  return { reached, tracked: tracked.length, ms: Math.round(performance.now() - started), lastReachedAt: reached === tracked.length ? last : null };
}

async function waitFirstEvent(timeoutMs: number): Promise<{ withEvent: number; open: number; ms: number }> {
  const started = performance.now();
  // A client whose filter matches none of the events never gets one: not waited for.
  const expecting = (): Client[] => clients.filter((c) => c.open && c.expectsEvents);
  const count = (): number => expecting().filter((c) => c.firstEventAt !== null).length;
  while (count() < expecting().length && performance.now() - started < timeoutMs) await sleep(50);
  return { withEvent: count(), open: expecting().length, ms: Math.round(performance.now() - started) };
}

function storm(req: StormRequest): Promise<StormResult> {
  const targets = clients.filter((c) => c.open);
  const statuses: Record<string, number> = {};
  const errs: Record<string, number> = {};
  const resumeLat: number[] = [];
  const headLat: number[] = [];
  named = {};
  namedExamples = [];
  let resumed = 0;
  let attempts = 0;
  let withoutLastId = 0;
  const disconnectedAt = Date.now();
  for (const c of targets) {
    if (c.sse?.lastEventId === null) withoutLastId++;
    c.close();
  }
  // Evenly spread, shuffled: client k reconnects at windowMs * slot / N.
  const slots = targets.map((_, i) => i);
  for (let i = slots.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [slots[i], slots[j]] = [slots[j]!, slots[i]!];
  }
  return new Promise((resolve) => {
    let done = false;
    let lastResumeAt: number | null = null;
    const timers: NodeJS.Timeout[] = [];
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      for (const t of timers) clearTimeout(t);
      resolve({
        clients: targets.length,
        disconnectedAt,
        resumed,
        notResumed: targets.length - resumed,
        allResumedMs: resumed === targets.length && lastResumeAt !== null ? lastResumeAt - disconnectedAt : null,
        resumeLatencyMs: percentiles(resumeLat),
        headLatencyMs: percentiles(headLat),
        withoutLastId,
        attempts,
        statuses,
        errors: errs,
        named: { ...named },
        namedExamples: [...namedExamples],
      });
    };
    const deadline = setTimeout(finish, req.timeoutMs);
    const attempt = (c: Client): void => {
      if (done) return;
      attempts++;
      const requestedAt = Date.now();
      c.onFirstEvent = () => {
        resumed++;
        lastResumeAt = readNow;
        resumeLat.push(readNow - requestedAt);
        if (resumed === targets.length) finish();
      };
      c.connect({}, true, (ok, status, error) => {
        if (status !== null) bump(statuses, String(status));
        if (error !== null) bump(errs, error);
        if (ok) {
          headLat.push(Date.now() - requestedAt);
          return;
        }
        c.onFirstEvent = null;
        timers.push(setTimeout(() => attempt(c), req.retryDelayMs));
      });
    };
    targets.forEach((c, i) => {
      const delay = targets.length <= 1 ? 0 : (req.windowMs * slots[i]!) / targets.length;
      timers.push(setTimeout(() => attempt(c), delay));
    });
    if (targets.length === 0) finish();
  });
}

let churn: ChurnRequest | null = null;

/** Plans the client's next close-and-resume. */
function scheduleChurn(c: Client): void {
  if (churn === null || stopping) return;
  if (c.churnTimer !== null) clearTimeout(c.churnTimer);
  const lifeMs = churn.minLifeMs + Math.random() * (churn.maxLifeMs - churn.minLifeMs);
  c.churnTimer = setTimeout(() => {
    c.churnTimer = null;
    if (churn === null || stopping) return;
    c.close();
    churnReconnect(c);
  }, lifeMs);
}

/** Reconnects with the client's last id; a failed attempt is retried (also after churn stopped: the client must come back). */
function churnReconnect(c: Client): void {
  if (stopping) return;
  life.churnAttempts++;
  c.connect({}, true, (ok) => {
    if (ok) {
      life.churnCycles++;
      scheduleChurn(c);
      return;
    }
    life.churnFailures++;
    setTimeout(() => churnReconnect(c), churn?.retryDelayMs ?? 1000).unref();
  });
}

function startChurn(req: ChurnRequest): void {
  churn = req;
  for (const c of clients) if (c.open) scheduleChurn(c);
}

function stopChurn(): void {
  churn = null;
  for (const c of clients) {
    if (c.churnTimer !== null) clearTimeout(c.churnTimer);
    c.churnTimer = null;
  }
}

function status(): GenStatus {
  let bytes = 0;
  for (const c of clients) bytes += c.bytes;
  return {
    clients: clients.length,
    open: clients.filter((c) => c.open).length,
    drops: life.drops,
    reconnects: life.reconnects,
    churnCycles: life.churnCycles,
    churnAttempts: life.churnAttempts,
    churnFailures: life.churnFailures,
    statuses: { ...life.statuses },
    errors: { ...life.errors },
    named: { ...life.named },
    events: life.events,
    bytes,
  };
}

function clientTimes(index: number): ClientTimes | null {
  const c = clients[index];
  if (c === undefined) return null;
  return { connectAt: c.connectAt, headAt: c.headAt, firstEventAt: c.firstEventAt, watchAt: c.watchAt, events: c.events, bytes: c.bytes };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function handle(req: Request): Promise<unknown> {
  switch (req.type) {
    case 'init':
      if (req.port <= 0) throw new Error('init: no port');
      cfg = req;
      return { ok: true };
    case 'connect':
      return connectMany(req);
    case 'window-start':
      startWindow();
      return { ok: true };
    case 'window-end':
      return endWindow();
    case 'check':
      return check(req);
    case 'wait-seq':
      return waitSeq(req.seq, req.timeoutMs);
    case 'wait-first-event':
      return waitFirstEvent(req.timeoutMs);
    case 'storm':
      return storm(req);
    case 'client-times':
      return clientTimes(req.index);
    case 'churn-start':
      startChurn(req);
      return { ok: true };
    case 'churn-stop':
      stopChurn();
      return { ok: true };
    case 'status':
      return status();
    case 'resume-all':
      for (const c of clients) c.resume();
      return { ok: true };
    case 'disconnect':
      stopChurn();
      stopping = true;
      for (const c of clients) c.close();
      return { ok: true };
    case 'usage':
      return usage();
  }
}

process.on('message', (message: Envelope) => {
  handle(message.request).then(
    (result) => process.send?.({ id: message.id, ok: true, result } satisfies Reply),
    (error: unknown) => process.send?.({ id: message.id, ok: false, error: error instanceof Error ? error.stack ?? error.message : String(error) } satisfies Reply),
  );
});
// The parent went away (finished, crashed or killed): never linger.
process.on('disconnect', () => process.exit(0));
