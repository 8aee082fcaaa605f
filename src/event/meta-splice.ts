/**
 * Adds the Kafka position to an event's `meta` without parsing it into objects: a byte-level scan
 * of the JSON value checks its structure and finds where `meta` ends, and the new fields are
 * spliced in there. About ten times cheaper than JSON.parse + JSON.stringify, which matters for
 * replays. Anything out of the ordinary returns undefined and the caller takes the slow path:
 * line breaks or other control bytes (SSE needs the event on one line), escaped keys, a `meta`
 * that is not an object or already has position fields, or invalid JSON.
 */

import { DATA_PREFIX, DATA_SUFFIX, ownedBuffer } from './frame.ts';

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
const CONTROL = /[\x00-\x1f]/;
const META = Buffer.from('"meta"');
const DOMAIN = Buffer.from('"domain"');
const CANARY = Buffer.from('"canary"');
/** Keys of `meta` that we set; an event that already has one takes the slow path, which overwrites it. */
const POSITION_KEYS = ['"topic"', '"partition"', '"offset"', '"key"'].map((k) => Buffer.from(k));
const LITERALS = [Buffer.from('true'), Buffer.from('false'), Buffer.from('null')];

export interface Spliced {
  /** `data: <json with meta fields>\n\n` */
  frame: Buffer;
  canary: boolean;
}

/** `fields` is the JSON text of the members to add, e.g. `"topic":"t","partition":0,"offset":5`. */
export function spliceMeta(value: Buffer, fields: string): Spliced | undefined {
  const scan = new Scanner(value);
  const found = scan.topLevel();
  if (found === undefined) return undefined;
  const head = found.metaClose ?? found.close;
  const separator = found.metaClose === undefined ? (found.hasMembers ? ',' : '') : found.metaHasMembers ? ',' : '';
  const insert = found.metaClose === undefined ? `${separator}"meta":{${fields}}` : `${separator}${fields}`;
  const insertBytes = Buffer.byteLength(insert);
  const start = DATA_PREFIX.length;
  const frame = ownedBuffer(start + value.length + insertBytes + DATA_SUFFIX.length);
  frame.write(DATA_PREFIX, 0, 'latin1');
  value.copy(frame, start, 0, head);
  frame.write(insert, start + head);
  value.copy(frame, start + head + insertBytes, head);
  frame.write(DATA_SUFFIX, frame.length - DATA_SUFFIX.length, 'latin1');
  return { frame, canary: found.canary };
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
  /** Whether the last string scanned contained a backslash. */
  #escaped = false;

  constructor(bytes: Buffer) {
    this.#b = bytes;
  }

  topLevel(): TopLevel | undefined {
    const b = this.#b;
    // Control bytes are never valid raw in JSON strings, and CR/LF would break SSE lines: one native pass.
    if (CONTROL.test(b.toString('latin1'))) return undefined;
    const open = this.#ws(0);
    if (b[open] !== OPEN_OBJECT) return undefined;
    const result: TopLevel = { close: FAIL, hasMembers: false, metaHasMembers: false, canary: false };
    result.close = this.#items(open, CLOSE_OBJECT, true, (keyStart, keyEnd, valueStart) => {
      if (this.#escaped) return FAIL;
      result.hasMembers = true;
      if (!this.#equals(keyStart, keyEnd, META)) return this.#value(valueStart);
      if (result.metaClose !== undefined || b[valueStart] !== OPEN_OBJECT) return FAIL;
      return this.#meta(valueStart, result);
    });
    if (result.close === FAIL || this.#ws(result.close + 1) !== b.length) return undefined;
    return result;
  }

  /** Scans `meta`'s members: notes its end, canary-ness, and refuses position keys it already has. */
  #meta(open: number, result: TopLevel): number {
    const close = this.#items(open, CLOSE_OBJECT, true, (keyStart, keyEnd, valueStart) => {
      if (this.#escaped) return FAIL;
      for (const key of POSITION_KEYS) if (this.#equals(keyStart, keyEnd, key)) return FAIL;
      result.metaHasMembers = true;
      const valueEnd = this.#value(valueStart);
      if (valueEnd !== FAIL && this.#equals(keyStart, keyEnd, DOMAIN) && this.#equals(valueStart, valueEnd, CANARY)) result.canary = true;
      return valueEnd;
    });
    if (close === FAIL) return FAIL;
    result.metaClose = close;
    return close + 1;
  }

  #value(i: number): number {
    const c = this.#b[i];
    if (c === QUOTE) return this.#string(i);
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const close = this.#items(i, c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY, c === OPEN_OBJECT);
      return close === FAIL ? FAIL : close + 1;
    }
    if (c === 0x74 || c === 0x66 || c === 0x6e) {
      for (const literal of LITERALS) if (this.#equals(i, i + literal.length, literal)) return i + literal.length;
      return FAIL;
    }
    return this.#number(i);
  }

  /**
   * The items of the object or array opening at `open`: returns the index of its closing bracket.
   * For objects, `member` scans each value (given where its key and value start) and returns its end.
   */
  #items(open: number, close: number, keyed: boolean, member = (_keyStart: number, _keyEnd: number, valueStart: number) => this.#value(valueStart)): number {
    const b = this.#b;
    let i = this.#ws(open + 1);
    if (b[i] === close) return i;
    for (;;) {
      if (keyed) {
        const keyStart = i;
        const keyEnd = this.#string(i);
        if (keyEnd === FAIL) return FAIL;
        i = this.#ws(keyEnd);
        if (b[i] !== COLON) return FAIL;
        i = member(keyStart, keyEnd, this.#ws(i + 1));
      } else {
        i = this.#value(i);
      }
      if (i === FAIL) return FAIL;
      i = this.#ws(i);
      if (b[i] === COMMA) {
        i = this.#ws(i + 1);
        continue;
      }
      return b[i] === close ? i : FAIL;
    }
  }

  /** Jumps between quotes and backslashes natively; only escapes are looked at byte by byte. */
  #string(start: number): number {
    const b = this.#b;
    if (b[start] !== QUOTE) return FAIL;
    this.#escaped = false;
    let i = start + 1;
    for (;;) {
      const quote = b.indexOf(QUOTE, i);
      if (quote < 0) return FAIL;
      const backslash = b.indexOf(BACKSLASH, i);
      if (backslash < 0 || backslash > quote) return quote + 1;
      this.#escaped = true;
      const next = b[backslash + 1];
      if (next === 0x75) {
        // \uXXXX: four hex digits
        for (let k = backslash + 2; k < backslash + 6; k++) if (!isHex(b[k])) return FAIL;
        i = backslash + 6;
      } else if (next === QUOTE || next === BACKSLASH || next === 0x2f || next === 0x62 || next === 0x66 || next === 0x6e || next === 0x72 || next === 0x74) {
        i = backslash + 2;
      } else {
        return FAIL;
      }
    }
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

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}
