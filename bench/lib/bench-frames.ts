/**
 * What the load generator reads out of a stream (an SseParser sink): message events with the
 * `bench.seq` and `bench.sent_ms` fields the bench producer puts FIRST in every value
 * (`data: {"bench":{"seq":N,"sent_ms":T},...`), parsed on bytes; other named events as text.
 */
import { crc32 } from 'node:zlib';
import { Field, type SseSink } from './sse-parser.ts';

export interface FrameSink {
  /**
   * One message event. seq/sentMs are -1 when the event carries no bench field; `digest` is the
   * CRC-32 of its `id` and `data` values when digests are on (else 0).
   */
  message(seq: number, sentMs: number, digest: number): void;
  /** `event: notice`, `event: error` or another named event; `text` is the frame (its first 2000 characters). */
  named(kind: string, text: string): void;
}

const MESSAGE = Buffer.from('message');
const BENCH_PREFIX = Buffer.from('{"bench":{"seq":');
const BENCH_ANYWHERE = Buffer.from('"bench":{"seq":');
const SENT_PREFIX = Buffer.from(',"sent_ms":');
const NAMES: Partial<Record<Field, string>> = { [Field.event]: 'event', [Field.data]: 'data', [Field.id]: 'id', [Field.retry]: 'retry' };
const NAMED_TEXT_MAX = 2000;

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

export class BenchFrames implements SseSink {
  readonly #sink: FrameSink;
  /** The frame's `event:`: null none yet, '' message, else the name of another event. */
  #kind: string | null = null;
  #hasData = false;
  #seq = -1;
  #sent = -1;
  /** The text of a named event's frame, from its `event:` line on. */
  #text = '';
  readonly #digests: boolean;
  #digest = 0;

  /** `digests`: also a CRC-32 of each frame's `id` and `data` values (native, but not free). */
  constructor(sink: FrameSink, digests = false) {
    this.#sink = sink;
    this.#digests = digests;
  }

  line(field: Field, buf: Buffer, start: number, end: number): void {
    if (this.#digests && (field === Field.data || field === Field.id)) this.#digest = crc32(buf.subarray(start, end), this.#digest);
    if (field === Field.data) {
      this.#hasData = true;
      this.#readBench(buf, start, end);
    } else if (field === Field.event) {
      this.#kind = end - start === MESSAGE.length && startsWith(buf, start, end, MESSAGE) ? '' : buf.toString('latin1', start, end);
    }
    // Named events are rare (notices, errors): only they pay for text.
    if (this.#kind !== null && this.#kind !== '' && this.#text.length < NAMED_TEXT_MAX) {
      const name = NAMES[field];
      if (name !== undefined) this.#text += `${this.#text === '' ? '' : '\n'}${name}: ${buf.toString('utf8', start, end)}`;
    }
  }

  end(): void {
    if (this.#kind === '' || (this.#kind === null && this.#hasData)) this.#sink.message(this.#seq, this.#sent, this.#digest);
    else if (this.#kind !== null) this.#sink.named(this.#kind, this.#text.slice(0, NAMED_TEXT_MAX));
    this.discard();
  }

  discard(): void {
    this.#kind = null;
    this.#hasData = false;
    this.#seq = -1;
    this.#sent = -1;
    this.#text = '';
    this.#digest = 0;
  }

  #readBench(buf: Buffer, start: number, end: number): void {
    let at: number;
    if (startsWith(buf, start, end, BENCH_PREFIX)) at = start + BENCH_PREFIX.length;
    else {
      const found = buf.indexOf(BENCH_ANYWHERE, start);
      if (found < 0 || found >= end) return;
      at = found + BENCH_ANYWHERE.length;
    }
    this.#seq = digits(buf, at, end);
    if (startsWith(buf, digitsEnd, end, SENT_PREFIX)) this.#sent = digits(buf, digitsEnd + SENT_PREFIX.length, end);
  }
}
