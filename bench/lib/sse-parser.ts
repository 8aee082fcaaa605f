/**
 * The text/event-stream parser of the tests and the benchmarks (the browser UI has its own,
 * public/js/sse-parser.js). It works on Buffers and hands each field line to a sink as a byte
 * range, so no string is made unless the sink asks for one: the load generator follows thousands
 * of streams with it, the tests read every field (`SseBlocks`, `parseBlocks`).
 *
 * Lines end with LF (all the service writes). Field names and values follow the WHATWG rules
 * (`name: value`, one space after the colon dropped; a line without colon is a name with an empty
 * value); a blank line ends a frame.
 */

/** What a line is, by its field name; `other`: a name the protocol ignores. */
export const Field = { event: 0, data: 1, id: 2, retry: 3, comment: 4, other: 5 } as const;
export type Field = (typeof Field)[keyof typeof Field];

export interface SseSink {
  /**
   * One line of the current frame; its value (for a comment: the text after `:`) is
   * buf[start, end), valid only during this call.
   */
  line(field: Field, buf: Buffer, start: number, end: number): void;
  /** The blank line after the lines reported since the last end(): the frame is complete. */
  end(): void;
  /** The lines reported since the last end() will never be completed (see SseParser.reset). */
  discard(): void;
}

const LF = 0x0a;
const COLON = 0x3a;
const SPACE = 0x20;

type NamedField = (typeof Field)['event' | 'data' | 'id' | 'retry'];
/** Their names, by Field value. */
const NAMES = ['event', 'data', 'id', 'retry'] as const;

/** True when the line at buf[at, end) starts with the name of `field`, then a colon or the line end. */
function isName(buf: Buffer, at: number, end: number, field: NamedField): Field {
  const name = NAMES[field];
  const after = at + name.length;
  if (after > end || (after < end && buf[after] !== COLON)) return Field.other;
  for (let i = 1; i < name.length; i++) if (buf[at + i] !== name.charCodeAt(i)) return Field.other;
  return field;
}

/** What the line at buf[at, end) is, by its first byte and then its whole name. */
function fieldOf(buf: Buffer, at: number, end: number): Field {
  switch (buf[at]) {
    case COLON:
      return Field.comment;
    case 0x64:
      return isName(buf, at, end, Field.data);
    case 0x65:
      return isName(buf, at, end, Field.event);
    case 0x69:
      return isName(buf, at, end, Field.id);
    case 0x72:
      return isName(buf, at, end, Field.retry);
    default:
      return Field.other;
  }
}

/**
 * Splits a byte stream into lines for a sink; a line split over two pushes is assembled in a
 * scratch buffer (grown to the longest such line), so steady reading allocates nothing per
 * frame. Also keeps the id of the last complete frame that had one, as EventSource does for
 * `Last-Event-ID`: as a byte range until the push returns, then as text (one string per push).
 */
export class SseParser {
  readonly #sink: SseSink;
  #scratch: Buffer = Buffer.allocUnsafe(0);
  #scratchLen = 0;
  /** The id line of the frame being read: a range of #idBuf during a push, else #idText. */
  #idBuf: Buffer | null = null;
  #idStart = 0;
  #idEnd = 0;
  #idText: string | null = null;
  #frameHasId = false;
  /** The id of the last complete frame, while it is still a range of the pushed buffer. */
  #lastBuf: Buffer | null = null;
  #lastStart = 0;
  #lastEnd = 0;
  #lastText: string | null = null;

  constructor(sink: SseSink) {
    this.#sink = sink;
  }

  /** The id of the last complete frame that had an `id:` line (null: none yet). */
  get lastEventId(): string | null {
    return this.#lastBuf === null ? this.#lastText : this.#lastBuf.toString('utf8', this.#lastStart, this.#lastEnd);
  }

  /** Drops a partial frame (the connection closed mid-frame); the last event id stays. */
  reset(): void {
    this.#scratchLen = 0;
    this.#frameHasId = false;
    this.#sink.discard();
  }

  /** Bytes buf[start, end) may be a view of a reused read buffer: nothing is kept without copying. */
  push(buf: Buffer, start = 0, end = buf.length): void {
    let pos = start;
    if (this.#scratchLen > 0) {
      const nl = buf.indexOf(LF, start);
      if (nl < 0 || nl >= end) {
        this.#append(buf, start, end);
        return;
      }
      this.#append(buf, start, nl);
      const length = this.#scratchLen;
      this.#scratchLen = 0;
      this.#line(this.#scratch, 0, length);
      pos = nl + 1;
    }
    while (pos < end) {
      if (buf[pos] === LF) {
        this.#dispatch();
        pos++;
        continue;
      }
      const nl = buf.indexOf(LF, pos);
      if (nl < 0 || nl >= end) break;
      this.#line(buf, pos, nl);
      pos = nl + 1;
    }
    if (pos < end) this.#append(buf, pos, end);
    // The ranges die with the caller's buffer: keep them as text.
    if (this.#idBuf !== null) {
      this.#idText = this.#idBuf.toString('utf8', this.#idStart, this.#idEnd);
      this.#idBuf = null;
    }
    if (this.#lastBuf !== null) {
      this.#lastText = this.#lastBuf.toString('utf8', this.#lastStart, this.#lastEnd);
      this.#lastBuf = null;
    }
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

  /** One non-blank line buf[start, end). */
  #line(buf: Buffer, start: number, end: number): void {
    const field = fieldOf(buf, start, end);
    if (field === Field.comment || field === Field.other) {
      this.#sink.line(field, buf, field === Field.comment ? start + 1 : start, end);
      return;
    }
    let value = Math.min(end, start + NAMES[field].length + 1);
    if (value < end && buf[value] === SPACE) value++;
    if (field === Field.id) {
      this.#frameHasId = true;
      this.#idText = null;
      if (buf === this.#scratch) {
        this.#idBuf = null;
        this.#idText = buf.toString('utf8', value, end);
      } else {
        this.#idBuf = buf;
        this.#idStart = value;
        this.#idEnd = end;
      }
    }
    this.#sink.line(field, buf, value, end);
  }

  #dispatch(): void {
    if (this.#frameHasId) {
      this.#frameHasId = false;
      this.#lastBuf = this.#idBuf;
      this.#lastStart = this.#idStart;
      this.#lastEnd = this.#idEnd;
      this.#lastText = this.#idText;
      this.#idBuf = null;
    }
    this.#sink.end();
  }
}

/** One frame's fields as text (absent: the frame had no such line). */
export interface SseBlock {
  event?: string;
  id?: string;
  data?: string;
  retry?: string;
  /** The text after `:` of its (last) comment line. */
  comment?: string;
}

/** A sink keeping every complete frame as an SseBlock; data lines are joined by LF (WHATWG). */
export class SseBlocks implements SseSink {
  readonly blocks: SseBlock[] = [];
  #block: SseBlock = {};
  #lines = 0;

  line(field: Field, buf: Buffer, start: number, end: number): void {
    this.#lines++;
    const value = buf.toString('utf8', start, end);
    const block = this.#block;
    if (field === Field.data) block.data = block.data === undefined ? value : `${block.data}\n${value}`;
    else if (field === Field.event) block.event = value;
    else if (field === Field.id) block.id = value;
    else if (field === Field.retry) block.retry = value;
    else if (field === Field.comment) block.comment = value;
  }

  end(): void {
    if (this.#lines > 0) this.blocks.push(this.#block);
    this.discard();
  }

  discard(): void {
    this.#block = {};
    this.#lines = 0;
  }
}

/** The complete frames of an SSE text (a partial last frame is left out). */
export function parseBlocks(text: string): SseBlock[] {
  const sink = new SseBlocks();
  new SseParser(sink).push(Buffer.from(text));
  return sink.blocks;
}
