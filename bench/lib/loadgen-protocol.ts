/** Messages between a benchmark (parent) and the load generator child (bench/lib/loadgen.ts). */
import type { Coding } from './encodings.ts';

export interface Percentiles {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
  mean: number | null;
}

export interface InitRequest {
  type: 'init';
  port: number;
  path: string;
  /** Parse every `sampleEvery`-th client (latency, seq tracking); count bytes on the rest. */
  sampleEvery: number;
  /** Parse and track every client (ids and seqs), for resume checks. Overrides sampleEvery for parsing. */
  trackAll: boolean;
  /** Reconnect a client the server dropped (with its Last-Event-ID when known). */
  reconnectOnDrop: boolean;
  reconnectDelayMs: number;
  /** Clients with filters (absent: every client requests `path` as it is). */
  filters?: ClientFilters;
  /**
   * Slow readers: once its response head arrived, a client stops reading its socket (until
   * `resume-all`), so the kernel buffers fill and the server's queue for it grows.
   */
  stall?: boolean;
  /**
   * Content codings: client i sends `Accept-Encoding: <codingOf(i, encodings, sampleEvery)>`
   * (bench/lib/encodings.ts) and its parsed clients decode what the response's `Content-Encoding`
   * says. Absent: no `Accept-Encoding` is sent (identity).
   */
  encodings?: Coding[];
  /**
   * Parsed clients keep a CRC-32 of every event's `id` and `data` lines by seq, and `check` compares
   * them across clients: clients of every coding must have decoded the very same events and ids.
   */
  digests?: boolean;
}

/**
 * Filtered clients: client i requests `path?<queries[i % queries.length]>` and should receive
 * exactly the seqs whose event (seq % templates) its query matches.
 */
export interface ClientFilters {
  queries: string[];
  /** Per query, the indexes of the event templates it matches. */
  matches: number[][];
  templates: number;
}

export interface ConnectRequest {
  type: 'connect';
  count: number;
  /** Connections not yet answered with a response head, at most. */
  maxPending: number;
  timeoutMs: number;
  /** Extra request headers for every connection. */
  headers: Record<string, string>;
}

export interface ConnectResult {
  requested: number;
  connected: number;
  /** Responses per `<asked>→<Content-Encoding answered>` (identity when none), of clients that sent Accept-Encoding. */
  codings: Record<string, number>;
  failed: number;
  /** Still unanswered at the timeout (then destroyed). */
  timedOut: number;
  ms: number;
  statuses: Record<string, number>;
  errors: Record<string, number>;
  /** Response-head time per connection (ms from its connect() call). */
  headLatency: Percentiles;
}

export interface GenUsage {
  cpuUserMs: number;
  cpuSystemMs: number;
  rssBytes: number;
  /** Event-loop utilisation 0..1 over the window: near 1 means the generator was saturated. */
  elu: number;
}

/** The window's figures of the clients of one coding (the coding they asked for). */
export interface CodingWindow {
  /** Open clients at the end of the window. */
  openClients: number;
  /** Body bytes on the wire (after the response head, HTTP chunking included) of all its clients. */
  bytes: number;
  sampledClients: number;
  sampledEvents: number;
  /** Wire bytes of its parsed clients. */
  sampledBytes: number;
  /** What they decoded to: the SSE bytes an identity client gets (de-chunked, decompressed). */
  sampledDecodedBytes: number;
  /** bytes x sampledEvents / sampledBytes. */
  estimatedEvents: number;
  /** bytes x sampledDecodedBytes / sampledBytes. */
  estimatedDecodedBytes: number;
  latencyMs: Percentiles;
  /** From a read handed to a decoder to the decoder done with it (compressed codings only): the generator's share of the latency. */
  decodeDelayMs: Percentiles;
}

/** The window's figures over all clients (the same fields as per coding, summed), and per coding. */
export interface WindowResult extends CodingWindow {
  ms: number;
  /** Per coding asked for (identity when the generator sends no Accept-Encoding). */
  byCoding: Record<string, CodingWindow>;
  /** Window bytes per client, to spot starved clients. */
  perClientBytes: { min: number; p1: number; p50: number; max: number; belowHalfMedian: number };
  drops: number;
  reconnects: number;
  named: Record<string, number>;
  namedExamples: string[];
  errors: Record<string, number>;
  usage: GenUsage;
}

export interface CheckRequest {
  type: 'check';
  fromSeq: number;
  toSeq: number;
  /** Seqs whose production failed or is uncertain: not counted. */
  exclude: number[];
  /** Partitions the seqs are spread over (seq % stride); 1 for one partition. */
  stride: number;
}

export interface CheckResult {
  clientsChecked: number;
  /** Clients with a seq never received below their highest received seq (lost events). */
  clientsWithGaps: number;
  /** Clients that had not yet received the last seq of the range (lagging, not lost). */
  clientsBehind: number;
  clientsWithDuplicates: number;
  /** Seqs never received below each client's highest received seq, summed over clients. */
  missing: number;
  /** Seqs above each client's highest received seq (not received yet), summed over clients. */
  behind: number;
  duplicates: number;
  duplicatesAnywhere: number;
  examples: { client: number; firstMissing: number; firstDuplicate: number; missing: number; behind: number; duplicates: number; maxSeq: number }[];
  /** With `digests`: events of the range compared across the parsed clients (all codings). */
  frames?: FrameCheck;
}

export interface FrameCheck {
  /** Seqs of the range received by at least two parsed clients. */
  seqsCompared: number;
  /** (client, seq) pairs compared against the reference client of that seq (an identity client when there is one). */
  compared: number;
  /** Of those, pairs whose `id` + `data` lines differ from the reference's. */
  mismatched: number;
  /** Parsed clients per coding they were answered with. */
  clientsByCoding: Record<string, number>;
  examples: { client: number; coding: string; seq: number; reference: number }[];
}

export interface WaitSeqResult {
  /** Tracked clients that have `seq`. */
  reached: number;
  tracked: number;
  ms: number;
  /** Wall time (Date.now()) when the last of them got it, or null. */
  lastReachedAt: number | null;
}

export interface StormRequest {
  type: 'storm';
  /** Reconnects are spread evenly (shuffled) over this many ms after all clients disconnect. */
  windowMs: number;
  timeoutMs: number;
  /** Retry a failed reconnect (non-200, socket error) after this long. */
  retryDelayMs: number;
}

export interface StormResult {
  clients: number;
  disconnectedAt: number;
  resumed: number;
  notResumed: number;
  /** From the disconnect of all clients to the last client's first event after reconnecting. */
  allResumedMs: number | null;
  /** Per client: from its reconnect request to its first event. */
  resumeLatencyMs: Percentiles;
  /** Per client: from its reconnect request to the response head. */
  headLatencyMs: Percentiles;
  withoutLastId: number;
  attempts: number;
  statuses: Record<string, number>;
  errors: Record<string, number>;
  named: Record<string, number>;
  namedExamples: string[];
}

export interface ChurnRequest {
  type: 'churn-start';
  /** Each open client lives a uniformly random time in [minLifeMs, maxLifeMs], then closes and reconnects with its Last-Event-ID. */
  minLifeMs: number;
  maxLifeMs: number;
  /** Retry a failed reconnect (non-200, socket error) after this long. */
  retryDelayMs: number;
}

/** Lifetime counters of the generator (not reset by windows). */
export interface GenStatus {
  clients: number;
  /** With a 200 response head and not closed. */
  open: number;
  /** Closes nobody asked for (the server ended the stream or the connection). */
  drops: number;
  /** Reconnects after a drop (reconnectOnDrop). */
  reconnects: number;
  /** Churn: planned close-and-resume cycles completed (200 head after the reconnect). */
  churnCycles: number;
  churnAttempts: number;
  churnFailures: number;
  /** Response statuses of every connection attempt. */
  statuses: Record<string, number>;
  errors: Record<string, number>;
  /** Named events (`error`, `notice`) seen by parsed clients. */
  named: Record<string, number>;
  /** Events received by parsed clients. */
  events: number;
  /** Body bytes received by all clients. */
  bytes: number;
}

export interface ClientTimes {
  connectAt: number;
  headAt: number | null;
  firstEventAt: number | null;
  /** When it received the seq of the last `wait-seq` (Date.now()), or null. */
  watchAt: number | null;
  events: number;
  bytes: number;
}

export type Request =
  | InitRequest
  | ConnectRequest
  | { type: 'window-start' }
  | { type: 'window-end' }
  | CheckRequest
  | { type: 'wait-seq'; seq: number; timeoutMs: number }
  | { type: 'wait-first-event'; timeoutMs: number }
  | StormRequest
  | { type: 'client-times'; index: number }
  | { type: 'disconnect' }
  | { type: 'usage' }
  | ChurnRequest
  | { type: 'churn-stop' }
  | { type: 'status' }
  | { type: 'resume-all' };

export interface ResponseMap {
  init: { ok: true };
  connect: ConnectResult;
  'window-start': { ok: true };
  'window-end': WindowResult;
  check: CheckResult;
  'wait-seq': WaitSeqResult;
  'wait-first-event': { withEvent: number; open: number; ms: number };
  storm: StormResult;
  'client-times': ClientTimes | null;
  disconnect: { ok: true };
  usage: GenUsage;
  'churn-start': { ok: true };
  'churn-stop': { ok: true };
  status: GenStatus;
  'resume-all': { ok: true };
}

export interface Envelope {
  id: number;
  request: Request;
}

export interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}
