/**
 * Byte-level readers for the load generator: the HTTP/1.1 response head, chunked transfer
 * decoding and SSE frames, all on Buffers (no string conversion of event bodies), so one process
 * can follow thousands of streams. Only what the benchmarks need is parsed out of an event: the
 * `bench.seq` and `bench.sent_ms` fields the bench producer puts FIRST in every value
 * (`data: {"bench":{"seq":N,"sent_ms":T},...`), and the `id:` line of the last event of a read.
 */

const CRLFCRLF = Buffer.from('\r\n\r\n');
const LFLF = Buffer.from('\n\n');
const EVENT_MESSAGE = Buffer.from('event: message\n');
const ID_PREFIX = Buffer.from('id: ');
const DATA_PREFIX = Buffer.from('data: ');
const BENCH_PREFIX = Buffer.from('{"bench":{"seq":');
const BENCH_ANYWHERE = Buffer.from('"bench":{"seq":');
const SENT_PREFIX = Buffer.from(',"sent_ms":');
const EVENT_PREFIX = Buffer.from('event: ');

export interface FrameSink {
  /** One `event: message` frame. seq/sentMs are -1 when the event carries no bench field. */
  message(seq: number, sentMs: number): void;
  /** `event: notice`, `event: error` or another named event; `text` is the whole frame. */
  named(kind: string, text: string): void;
}

/** True when buf[at, limit) starts with `prefix`. */
function startsWith(buf: Buffer, at: number, limit: number, prefix: Buffer): boolean {
  if (at + prefix.length > limit) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[at + i] !== prefix[i]) return false;
  return true;
}

/** Index after the digits parsed by the last digits() call. */
let digitsEnd = 0;

/** Parses the decimal digits at `at` (-1 when none); the index after them goes to digitsEnd. */
function digits(buf: Buffer, at: number, end: number): number {
  let v = 0;
  let i = at;
  while (i < end) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
    i++;
  }
  digitsEnd = i;
  return i === at ? -1 : v;
}

/**
 * Splits an SSE byte stream into frames (blank-line separated) and reports them to a sink. A
 * frame split over reads is assembled in a per-parser scratch buffer (grown to the largest
 * frame seen), so steady reading allocates nothing per frame.
 */
export class SseParser {
  readonly #sink: FrameSink;
  #scratch: Buffer = Buffer.allocUnsafe(0);
  #scratchLen = 0;
  /** The `id:` of the last complete `event: message` frame seen. */
  lastId: string | null = null;
  messages = 0;
  comments = 0;
  #idBuf: Buffer | null = null;
  #idStart = 0;
  #idEnd = 0;

  constructor(sink: FrameSink) {
    this.#sink = sink;
  }

  /** Discards a partial frame (the connection was closed mid-frame). */
  reset(): void {
    this.#scratchLen = 0;
  }

  #append(buf: Buffer, start: number, end: number): void {
    const need = this.#scratchLen + (end - start);
    if (need > this.#scratch.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, 2 * this.#scratch.length, 4096));
      this.#scratch.copy(grown, 0, 0, this.#scratchLen);
      this.#scratch = grown;
    }
    buf.copy(this.#scratch, this.#scratchLen, start, end);
    this.#scratchLen = need;
  }

  /** Bytes buf[start, end) may be a view of a reused read buffer: nothing is kept without copying. */
  push(buf: Buffer, start = 0, end = buf.length): void {
    if (end <= start) return;
    let pos = start;
    this.#idBuf = null;
    if (this.#scratchLen > 0) {
      const sc = this.#scratch;
      if (sc[this.#scratchLen - 1] === 0x0a && buf[start] === 0x0a) {
        // The frame end straddles the two reads ("\n" | "\n").
        this.#frame(sc, 0, this.#scratchLen - 1);
        pos = start + 1;
      } else {
        const fe = buf.indexOf(LFLF, start);
        if (fe < 0 || fe >= end) {
          this.#append(buf, start, end);
          return;
        }
        this.#append(buf, start, fe);
        this.#frame(this.#scratch, 0, this.#scratchLen);
        pos = fe + 2;
      }
      this.#scratchLen = 0;
    }
    while (pos < end) {
      const fe = buf.indexOf(LFLF, pos);
      if (fe < 0 || fe + 2 > end) break;
      this.#frame(buf, pos, fe);
      pos = fe + 2;
    }
    // The id must be read before the scratch buffer takes the next partial frame.
    const idBuf = this.#idBuf as Buffer | null;
    if (idBuf !== null) this.lastId = idBuf.toString('latin1', this.#idStart, this.#idEnd);
    this.#idBuf = null;
    if (pos < end) this.#append(buf, pos, end);
  }

  /** Handles one frame [start, end) without its blank line. */
  #frame(buf: Buffer, start: number, end: number): void {
    if (start >= end) return;
    if (buf[start] === 0x3a) {
      this.comments++;
      return;
    }
    if (startsWith(buf, start, end, EVENT_MESSAGE)) {
      this.messages++;
      let dataAt = start + EVENT_MESSAGE.length;
      if (startsWith(buf, dataAt, end, ID_PREFIX)) {
        const idStart = dataAt + ID_PREFIX.length;
        let idEnd = buf.indexOf(0x0a, idStart);
        if (idEnd < 0 || idEnd > end) idEnd = end;
        this.#idBuf = buf;
        this.#idStart = idStart;
        this.#idEnd = idEnd;
        dataAt = idEnd + 1;
      }
      let seq = -1;
      let sent = -1;
      if (startsWith(buf, dataAt, end, DATA_PREFIX)) {
        let at = dataAt + DATA_PREFIX.length;
        if (startsWith(buf, at, end, BENCH_PREFIX)) at += BENCH_PREFIX.length;
        else {
          const found = buf.indexOf(BENCH_ANYWHERE, at);
          at = found >= 0 && found < end ? found + BENCH_ANYWHERE.length : -1;
        }
        if (at >= 0) {
          seq = digits(buf, at, end);
          if (startsWith(buf, digitsEnd, end, SENT_PREFIX)) sent = digits(buf, digitsEnd + SENT_PREFIX.length, end);
        }
      }
      // A frame assembled in the scratch buffer must yield its id now (the buffer is reused).
      if (this.#idBuf !== null && this.#idBuf === this.#scratch) {
        this.lastId = buf.toString('latin1', this.#idStart, this.#idEnd);
        this.#idBuf = null;
      }
      this.#sink.message(seq, sent);
      return;
    }
    if (startsWith(buf, start, end, EVENT_PREFIX)) {
      const nl = buf.indexOf(0x0a, start);
      const kindEnd = nl < 0 || nl > end ? end : nl;
      this.#sink.named(buf.toString('latin1', start + EVENT_PREFIX.length, kindEnd), buf.toString('utf8', start, Math.min(end, start + 2000)));
    }
    // Other frames (`retry:` advice...) carry nothing the benchmarks need.
  }
}

export interface ResponseHead {
  status: number;
  chunked: boolean;
  headers: string;
}

export type BodySink = (buf: Buffer, start: number, end: number) => void;

/**
 * Reads one HTTP/1.1 response from a socket: the head, then the body with chunked transfer
 * decoding (parsed on bytes), handing body byte ranges to `body` (views of the input).
 */
export class HttpResponseReader {
  head: ResponseHead | null = null;
  /** True after the terminating zero-length chunk. */
  ended = false;
  #headBuf: Buffer | null = null;
  /** 0: chunk size line, 1: chunk data, 2: CRLF after the data. */
  #state = 0;
  #size = 0;
  #sizeDigits = 0;
  /** Past the hex digits of the size line (an extension or CR follows). */
  #sizeDone = false;
  #left = 0;
  readonly #body: BodySink | null;

  /** body null: only the head is parsed (the caller counts bytes itself). */
  constructor(body: BodySink | null) {
    this.#body = body;
  }

  /** Returns the number of body bytes (after the head) in `input`. */
  push(input: Buffer): number {
    let buf = input;
    let p = 0;
    if (this.head === null) {
      if (this.#headBuf !== null) buf = Buffer.concat([this.#headBuf, input]);
      const idx = buf.indexOf(CRLFCRLF);
      if (idx < 0) {
        this.#headBuf = Buffer.from(buf);
        if (this.#headBuf.length > 65536) throw new Error('response head larger than 64 KiB');
        return 0;
      }
      this.#headBuf = null;
      const headers = buf.toString('latin1', 0, idx);
      const status = Number(headers.slice(9, 12));
      this.head = { status, chunked: /\r\ntransfer-encoding:[^\r]*chunked/i.test(headers), headers };
      p = idx + 4;
    }
    const len = buf.length;
    const bodyBytes = len - p;
    const sink = this.#body;
    if (sink === null || p >= len) return bodyBytes;
    if (!this.head.chunked) {
      sink(buf, p, len);
      return bodyBytes;
    }
    while (p < len && !this.ended) {
      if (this.#state === 0) {
        while (p < len) {
          const c = buf[p++]!;
          if (c === 0x0a) {
            if (this.#sizeDigits === 0) throw new Error('chunk size line without digits');
            if (this.#size === 0) this.ended = true;
            else {
              this.#left = this.#size;
              this.#state = 1;
            }
            this.#size = 0;
            this.#sizeDigits = 0;
            this.#sizeDone = false;
            break;
          }
          if (this.#sizeDone) continue;
          const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
          if (v < 0) this.#sizeDone = true;
          else {
            this.#size = this.#size * 16 + v;
            this.#sizeDigits++;
          }
        }
      } else if (this.#state === 1) {
        const take = Math.min(this.#left, len - p);
        sink(buf, p, p + take);
        this.#left -= take;
        p += take;
        if (this.#left === 0) {
          this.#state = 2;
          this.#left = 2;
        }
      } else {
        const take = Math.min(this.#left, len - p);
        this.#left -= take;
        p += take;
        if (this.#left === 0) this.#state = 0;
      }
    }
    return bodyBytes;
  }
}

/** Which `bench.seq` values one client received, and how often (saturating at 255). */
export class SeqTracker {
  #base = -1;
  #counts = new Uint8Array(0);
  min = Infinity;
  max = -Infinity;

  add(seq: number): void {
    if (seq < 0) return;
    if (this.#base < 0) {
      this.#base = Math.max(0, seq - 1024);
      this.#counts = new Uint8Array(4096);
    }
    if (seq < this.#base) {
      // Rare: an older event than any seen (another partition); shift the window down.
      const newBase = Math.max(0, seq - 1024);
      const grown = new Uint8Array(this.#counts.length + (this.#base - newBase));
      grown.set(this.#counts, this.#base - newBase);
      this.#counts = grown;
      this.#base = newBase;
    }
    const i = seq - this.#base;
    if (i >= this.#counts.length) {
      let size = this.#counts.length * 2;
      while (size <= i) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#counts);
      this.#counts = grown;
    }
    const c = this.#counts[i]!;
    if (c < 255) this.#counts[i] = c + 1;
    if (seq < this.min) this.min = seq;
    if (seq > this.max) this.max = seq;
  }

  count(seq: number): number {
    const i = seq - this.#base;
    if (this.#base < 0 || i < 0 || i >= this.#counts.length) return 0;
    return this.#counts[i]!;
  }

  /**
   * Seqs of [from, to] (skipping `exclude`: seqs whose production failed, and those `wanted`
   * rejects: not for the client's filter) never received, split
   * into holes (below the highest seq received from the same partition: lost, the stream went on
   * past them) and behind (above it: not received YET, the client lags), and seqs received more
   * than once.
   */
  check(
    from: number,
    to: number,
    exclude: ReadonlySet<number>,
    stride = 1,
    wanted: (seq: number) => boolean = () => true,
  ): { holes: number; behind: number; duplicates: number; firstHole: number; firstDuplicate: number } {
    // Seqs are spread over `stride` partitions (seq % stride), each read at its own pace: a seq
    // is a hole only below the highest seq received from ITS partition.
    const maxOf: number[] = [];
    for (let r = 0; r < stride; r++) {
      let m = -1;
      for (let s = this.max; s >= 0 && s >= this.#base; s--) {
        if (s % stride === r && this.count(s) > 0) {
          m = s;
          break;
        }
      }
      maxOf.push(m);
    }
    let holes = 0;
    let behind = 0;
    let duplicates = 0;
    let firstHole = -1;
    let firstDuplicate = -1;
    for (let s = from; s <= to; s++) {
      if (exclude.has(s) || !wanted(s)) continue;
      const c = this.count(s);
      if (c === 0) {
        if (s < maxOf[s % stride]!) {
          holes++;
          if (firstHole < 0) firstHole = s;
        } else behind++;
      } else if (c > 1) {
        duplicates += c - 1;
        if (firstDuplicate < 0) firstDuplicate = s;
      }
    }
    return { holes, behind, duplicates, firstHole, firstDuplicate };
  }

  /** Repeats anywhere in what was received. */
  duplicatesAnywhere(exclude: ReadonlySet<number>): number {
    let d = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      const c = this.#counts[i]!;
      if (c > 1 && !exclude.has(this.#base + i)) d += c - 1;
    }
    return d;
  }
}
