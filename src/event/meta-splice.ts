/**
 * Adds the Kafka position to an event's `meta` without parsing it into objects: a byte-level scan
 * of the JSON value checks its structure and finds where `meta` ends, and the new fields are
 * spliced in there. Several times cheaper than JSON.parse + JSON.stringify, which matters for
 * replays. Anything out of the ordinary returns undefined and the caller takes the slow path:
 * line breaks or other control bytes (SSE needs the event on one line), escaped keys, a `meta`
 * that is not an object or already has position fields, or invalid JSON. The line separators that
 * some SSE clients split lines at (U+2028, U+2029, U+0085) are noted by the same pass and written
 * escaped (`line-separators.ts`).
 *
 * The same pass can note where the values of chosen keys are (`KeyWatch`), at any depth, so later
 * stages can tell from a few bytes whether they need the parsed event at all (the sanitizer).
 */

import { DATA_PREFIX, DATA_SUFFIX, ownedBuffer, type FrameAlloc } from './frame.ts';
import { copyEscaped, escapedGrowth, growthBefore, separatorLength } from './line-separators.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SPACE = 0x20;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

const FAIL = -1;
const DATA_PREFIX_BYTES = Buffer.from(DATA_PREFIX, 'latin1');
const DATA_SUFFIX_BYTES = Buffer.from(DATA_SUFFIX, 'latin1');
if (DATA_SUFFIX_BYTES.length !== 2) throw new Error('the frame suffix is two bytes');
const META = Buffer.from('"meta"');
const DOMAIN = Buffer.from('"domain"');
const CANARY = Buffer.from('"canary"');
/** Keys of `meta` that we set; an event that already has one takes the slow path, which overwrites it. */
const POSITION_KEYS = ['"topic"', '"partition"', '"offset"', '"key"'].map((k) => Buffer.from(k));
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

/** Longest key a watch can hold (the scan looks keys up by length). */
const MAX_WATCHED_KEY = 64;

/** Keys whose values a scan notes, wherever they are in the event (`keyWatch`). */
export interface KeyWatch {
  /** Per key length: the watched keys of that length (bytes without quotes) and their ids. */
  readonly byLength: readonly (readonly { bytes: Buffer; id: number }[] | undefined)[];
}

/**
 * A watch for these keys; a key's id is its index in `keys`. Keys JSON writes with escapes (quotes,
 * backslashes, control characters) or longer than 64 bytes cannot be watched (an error): a caller
 * that needs them must not rely on the scan.
 */
export function keyWatch(keys: readonly string[]): KeyWatch {
  const byLength: { bytes: Buffer; id: number }[][] = Array.from({ length: MAX_WATCHED_KEY + 1 }, () => []);
  keys.forEach((key, id) => {
    if (!watchable(key)) throw new Error(`key ${JSON.stringify(key)} cannot be watched`);
    const bytes = Buffer.from(key);
    byLength[bytes.length]!.push({ bytes, id });
  });
  return { byLength: byLength.map((list) => (list.length === 0 ? undefined : list)) };
}

/** Whether a scan can watch `key`: it is written as it is in JSON, and not too long. */
export function watchable(key: string): boolean {
  return JSON.stringify(key) === `"${key}"` && Buffer.byteLength(key) <= MAX_WATCHED_KEY;
}

export interface Spliced {
  /** `data: <json with meta fields>\n\n` */
  frame: Buffer;
  canary: boolean;
  /**
   * With a watch: for every member of the event (at any depth) with a watched key, its key's id and
   * where its value starts and ends in `frame`, as flat triples `[id, start, end, ...]`.
   */
  watched?: number[];
}

/**
 * `fields` is the JSON text of the members to add, e.g. `"topic":"t","partition":0,"offset":5`
 * (`fieldsAscii`: the caller knows it is all ASCII); `alloc` gives the frame's buffer (by default
 * one of its own); `watch` the keys to note.
 */
export function spliceMeta(value: Buffer, fields: string, alloc: FrameAlloc = ownedBuffer, watch?: KeyWatch, fieldsAscii = false): Spliced | undefined {
  const scan = new Scanner(value, watch);
  const found = scan.topLevel();
  if (found === undefined) return undefined;
  const head = found.metaClose ?? found.close;
  const separator = found.metaClose === undefined ? (found.hasMembers ? ',' : '') : found.metaHasMembers ? ',' : '';
  const insert = found.metaClose === undefined ? `${separator}"meta":{${fields}}` : `${separator}${fields}`;
  // Native calls cost more than the few bytes they write here: the fixed parts go in byte by byte.
  const insertBytes = fieldsAscii ? insert.length : Buffer.byteLength(insert);
  const encoding = insertBytes === insert.length ? 'latin1' : 'utf8';
  const separators = scan.separators;
  const start = DATA_PREFIX_BYTES.length;
  const grow = separators === undefined ? 0 : escapedGrowth(value, separators);
  const frame = alloc(start + value.length + insertBytes + grow + DATA_SUFFIX_BYTES.length);
  for (let k = 0; k < start; k++) frame[k] = DATA_PREFIX_BYTES[k] as number;
  if (separators === undefined) {
    // The whole value, then its tail moved past the insert: no views of the value to allocate.
    frame.set(value, start);
    frame.copyWithin(start + head + insertBytes, start + head, start + value.length);
    frame.write(insert, start + head, encoding);
  } else {
    const at = copyEscaped(value, 0, head, frame, start, separators);
    frame.write(insert, at, encoding);
    copyEscaped(value, head, value.length, frame, at + insertBytes, separators);
  }
  frame[frame.length - 2] = DATA_SUFFIX_BYTES[0] as number;
  frame[frame.length - 1] = DATA_SUFFIX_BYTES[1] as number;
  if (watch === undefined) return { frame, canary: found.canary };
  const watched = scan.hits;
  // From the value's positions to the frame's: past the prefix, the insert after `head` and the
  // escapes before them (a separator lies inside a string, so wholly before or after either end).
  for (let k = 0; k < watched.length; k += 3) {
    const from = watched[k + 1]!;
    const to = watched[k + 2]!;
    watched[k + 1] = from + start + (from < head ? 0 : insertBytes) + (separators === undefined ? 0 : growthBefore(value, separators, from));
    watched[k + 2] = to + start + (to <= head ? 0 : insertBytes) + (separators === undefined ? 0 : growthBefore(value, separators, to));
  }
  return { frame, canary: found.canary, watched };
}

interface TopLevel {
  /** Index of the top-level object's closing brace. */
  close: number;
  hasMembers: boolean;
  /** Index of `meta`'s closing brace, when the event has a `meta` object. */
  metaClose?: number;
  metaHasMembers: boolean;
  canary: boolean;
}

class Scanner {
  readonly #b: Buffer;
  /** The memory under `#b` as 32-bit words, and where `#b` starts in it. */
  readonly #words: Int32Array<ArrayBufferLike>;
  readonly #base: number;
  /** Where the words that `#candidate` may read end, in the underlying memory: the value's end, or the last whole word before it. */
  readonly #stop: number;
  readonly #watch: KeyWatch | undefined;
  /** Watched members found: flat triples (key id, value start, value end) in the value's positions. */
  readonly hits: number[] = [];
  /** Where the line separators to escape start, ascending; undefined while there are none (almost always). */
  separators: number[] | undefined;
  /** Whether the last string scanned contained a backslash. */
  #escaped = false;

  constructor(bytes: Buffer, watch: KeyWatch | undefined) {
    this.#b = bytes;
    this.#words = wordsOf(bytes.buffer);
    this.#base = bytes.byteOffset;
    this.#stop = LITTLE_ENDIAN ? Math.min(bytes.byteOffset + bytes.length, this.#words.length << 2) : 0;
    this.#watch = watch;
  }

  // Control bytes are refused wherever they are: outside strings the grammar has no room for them
  // (whitespace is spaces only), inside strings `#string` refuses them (never valid raw in JSON,
  // and CR/LF would break SSE lines).
  topLevel(): TopLevel | undefined {
    const b = this.#b;
    let i = b[0] === SPACE ? this.#ws(0) : 0;
    if (b[i] !== OPEN_OBJECT) return undefined;
    const result: TopLevel = { close: FAIL, hasMembers: false, metaHasMembers: false, canary: false };
    i = b[i + 1] === SPACE ? this.#ws(i + 1) : i + 1;
    if (b[i] !== CLOSE_OBJECT) {
      for (;;) {
        const keyStart = i;
        const keyEnd = this.#string(i);
        if (keyEnd === FAIL || this.#escaped) return undefined;
        i = b[keyEnd] === SPACE ? this.#ws(keyEnd) : keyEnd;
        if (b[i] !== COLON) return undefined;
        const valueStart = b[i + 1] === SPACE ? this.#ws(i + 1) : i + 1;
        result.hasMembers = true;
        if (this.#equals(keyStart, keyEnd, META)) {
          if (result.metaClose !== undefined || b[valueStart] !== OPEN_OBJECT) return undefined;
          i = this.#meta(valueStart, result);
        } else {
          i = this.#value(valueStart);
          if (i !== FAIL && this.#watch !== undefined) this.#note(keyStart, keyEnd, valueStart, i);
        }
        if (i === FAIL) return undefined;
        i = b[i] === SPACE ? this.#ws(i) : i;
        if (b[i] === COMMA) {
          i = b[i + 1] === SPACE ? this.#ws(i + 1) : i + 1;
          continue;
        }
        if (b[i] !== CLOSE_OBJECT) return undefined;
        break;
      }
    }
    result.close = i;
    if (this.#ws(i + 1) !== b.length) return undefined;
    return result;
  }

  /** Scans `meta`'s members: notes its end, canary-ness, and refuses position keys it already has. */
  #meta(open: number, result: TopLevel): number {
    const b = this.#b;
    let i = b[open + 1] === SPACE ? this.#ws(open + 1) : open + 1;
    if (b[i] !== CLOSE_OBJECT) {
      for (;;) {
        const keyStart = i;
        const keyEnd = this.#string(i);
        if (keyEnd === FAIL || this.#escaped) return FAIL;
        for (const key of POSITION_KEYS) if (this.#equals(keyStart, keyEnd, key)) return FAIL;
        i = b[keyEnd] === SPACE ? this.#ws(keyEnd) : keyEnd;
        if (b[i] !== COLON) return FAIL;
        const valueStart = b[i + 1] === SPACE ? this.#ws(i + 1) : i + 1;
        result.metaHasMembers = true;
        i = this.#value(valueStart);
        if (i === FAIL) return FAIL;
        if (this.#equals(keyStart, keyEnd, DOMAIN) && this.#equals(valueStart, i, CANARY)) result.canary = true;
        if (this.#watch !== undefined) this.#note(keyStart, keyEnd, valueStart, i);
        i = b[i] === SPACE ? this.#ws(i) : i;
        if (b[i] === COMMA) {
          i = b[i + 1] === SPACE ? this.#ws(i + 1) : i + 1;
          continue;
        }
        if (b[i] !== CLOSE_OBJECT) return FAIL;
        break;
      }
    }
    result.metaClose = i;
    return i + 1;
  }

  /** The end of the value starting at `i`, or FAIL. */
  #value(i: number): number {
    const c = this.#b[i];
    if (c === QUOTE) return this.#string(i);
    if (c === OPEN_OBJECT) return this.#object(i);
    if (c === OPEN_ARRAY) return this.#array(i);
    if (c === 0x74) return this.#literal(i, TRUE);
    if (c === 0x66) return this.#literal(i, FALSE);
    if (c === 0x6e) return this.#literal(i, NULL);
    return this.#number(i);
  }

  /** An object's end (past its closing brace); keys may not be escaped (nothing then would find them). */
  #object(open: number): number {
    const b = this.#b;
    let i = b[open + 1] === SPACE ? this.#ws(open + 1) : open + 1;
    if (b[i] === CLOSE_OBJECT) return i + 1;
    for (;;) {
      const keyStart = i;
      const keyEnd = this.#string(i);
      if (keyEnd === FAIL || this.#escaped) return FAIL;
      i = b[keyEnd] === SPACE ? this.#ws(keyEnd) : keyEnd;
      if (b[i] !== COLON) return FAIL;
      const valueStart = b[i + 1] === SPACE ? this.#ws(i + 1) : i + 1;
      i = this.#value(valueStart);
      if (i === FAIL) return FAIL;
      if (this.#watch !== undefined) this.#note(keyStart, keyEnd, valueStart, i);
      i = b[i] === SPACE ? this.#ws(i) : i;
      if (b[i] === COMMA) {
        i = b[i + 1] === SPACE ? this.#ws(i + 1) : i + 1;
        continue;
      }
      return b[i] === CLOSE_OBJECT ? i + 1 : FAIL;
    }
  }

  #array(open: number): number {
    const b = this.#b;
    let i = b[open + 1] === SPACE ? this.#ws(open + 1) : open + 1;
    if (b[i] === CLOSE_ARRAY) return i + 1;
    for (;;) {
      i = this.#value(i);
      if (i === FAIL) return FAIL;
      i = b[i] === SPACE ? this.#ws(i) : i;
      if (b[i] === COMMA) {
        i = b[i + 1] === SPACE ? this.#ws(i + 1) : i + 1;
        continue;
      }
      return b[i] === CLOSE_ARRAY ? i + 1 : FAIL;
    }
  }

  /** Records a member whose key (quotes included at keyStart..keyEnd) is watched. */
  #note(keyStart: number, keyEnd: number, valueStart: number, valueEnd: number): void {
    const length = keyEnd - keyStart - 2;
    if (length > MAX_WATCHED_KEY) return;
    const keys = (this.#watch as KeyWatch).byLength[length];
    if (keys === undefined) return;
    const b = this.#b;
    for (const key of keys) {
      const bytes = key.bytes;
      let k = 0;
      while (k < length && b[keyStart + 1 + k] === bytes[k]) k++;
      if (k === length) {
        this.hits.push(key.id, valueStart, valueEnd);
        return;
      }
    }
  }

  /**
   * A string's end. Only quotes, backslashes, control bytes and the first bytes of a line
   * separator's UTF-8 (0xE2, 0xC2) stop the search (`#candidate`): a raw control byte is refused,
   * escapes are checked, separators noted. A native search per string costs more for the short
   * strings events are made of, and could not refuse control bytes.
   */
  #string(start: number): number {
    const b = this.#b;
    const end = b.length;
    if (b[start] !== QUOTE) return FAIL;
    this.#escaped = false;
    let i = start + 1;
    for (;;) {
      i = this.#candidate(i);
      if (i >= end) return FAIL;
      const c = b[i] as number;
      if (c === QUOTE) return i + 1;
      if (c < SPACE) return FAIL;
      if (c !== BACKSLASH) {
        // A separator, another character starting 0xE2 or 0xC2, or the word test's false alarm (a borrow from the byte below).
        if ((c | 0x20) === 0xe2 && separatorLength(b, i) !== 0) (this.separators ??= []).push(i);
        i++;
        continue;
      }
      this.#escaped = true;
      const next = b[i + 1];
      if (next === 0x75) {
        // \uXXXX: four hex digits
        for (let k = i + 2; k < i + 6; k++) if (!isHex(b[k])) return FAIL;
        i += 6;
      } else if (next === QUOTE || next === BACKSLASH || next === 0x2f || next === 0x62 || next === 0x66 || next === 0x6e || next === 0x72 || next === 0x74) {
        i += 2;
      } else {
        return FAIL;
      }
    }
  }

  /**
   * The first quote, backslash, control byte, 0xE2 or 0xC2 at or after `i` (the value's length when
   * there is none), or a byte before it that the caller looks at and passes: four bytes per test, a
   * word of the underlying memory at a time (the bytes of the first word before `i` masked off),
   * straight to the first byte the test flags. The test never misses one; a borrow from a flagged
   * byte may flag the next as well, hence "or a byte before it". Little-endian memory (the first
   * byte of a word is its lowest); elsewhere, and past the last whole word, byte by byte.
   */
  #candidate(i: number): number {
    const base = this.#base;
    let p = base + i;
    const stop = this.#stop;
    if (p < stop) {
      const words = this.#words;
      let w = p >> 2;
      let m = special(words[w] as number) & (0x80808080 << ((p & 3) << 3));
      for (;;) {
        if (m !== 0) return (w << 2) + ((31 - Math.clz32(m & -m)) >> 3) - base;
        w++;
        if (w << 2 >= stop) break;
        m = special(words[w] as number);
      }
      p = w << 2;
    }
    const b = this.#b;
    const end = b.length;
    for (i = p - base; i < end; i++) {
      const c = b[i] as number;
      if (c === QUOTE || c === BACKSLASH || c < SPACE || (c | 0x20) === 0xe2) return i;
    }
    return end;
  }

  #literal(i: number, literal: Buffer): number {
    return this.#equals(i, i + literal.length, literal) ? i + literal.length : FAIL;
  }

  /** JSON's number grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? */
  #number(start: number): number {
    const b = this.#b;
    let i = start;
    if (b[i] === 0x2d) i++;
    if (b[i] === 0x30) i++;
    else if (isDigit(b[i]) && b[i] !== 0x30) while (isDigit(b[i])) i++;
    else return FAIL;
    if (b[i] === 0x2e) {
      i++;
      if (!isDigit(b[i])) return FAIL;
      while (isDigit(b[i])) i++;
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      if (b[i] === 0x2b || b[i] === 0x2d) i++;
      if (!isDigit(b[i])) return FAIL;
      while (isDigit(b[i])) i++;
    }
    return i;
  }

  /** Past the spaces at `i` (callers look at `b[i]` first: compact JSON has none). */
  #ws(i: number): number {
    while (this.#b[i] === SPACE) i++;
    return i;
  }

  #equals(start: number, end: number, expected: Buffer): boolean {
    if (end - start !== expected.length) return false;
    for (let k = 0; k < expected.length; k++) if (this.#b[start + k] !== expected[k]) return false;
    return true;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Per byte of the word `x`, the top bit set where the byte is a quote, a backslash, below 0x20, or
 * 0xE2 or 0xC2 (a zero after the xors, or a borrow), and possibly on a byte above one that is.
 */
function special(x: number): number {
  const quote = x ^ 0x22222222;
  const backslash = x ^ 0x5c5c5c5c;
  const lead = (x | 0x20202020) ^ 0xe2e2e2e2;
  return (((quote - 0x01010101) & ~quote) | ((backslash - 0x01010101) & ~backslash) | ((lead - 0x01010101) & ~lead) | ((x - 0x20202020) & ~x)) & 0x80808080;
}

/** The values of one fetch share its buffer: one word view for all of them. */
let lastBuffer: ArrayBufferLike | undefined;
let lastWords: Int32Array<ArrayBufferLike> = new Int32Array(0);
function wordsOf(buffer: ArrayBufferLike): Int32Array<ArrayBufferLike> {
  if (buffer !== lastBuffer) {
    lastBuffer = buffer;
    lastWords = new Int32Array(buffer, 0, buffer.byteLength >> 2);
  }
  return lastWords;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}
