/**
 * U+2028, U+2029 and U+0085 may stand raw in a JSON string, but Python's `str.splitlines()` breaks
 * lines at them, and so does python `sseclient` (the client of Wikimedia's own EventStreams example):
 * a raw one in a `data:` line cuts the event's JSON and the client drops the event. Served JSON
 * carries them as `\u2028`, `\u2029` and `\u0085`: the same JSON value, on one line for every reader.
 *
 * In valid JSON they occur only inside strings, so escaping them anywhere in the text is safe.
 */

const SEPARATORS = /[\u2028\u2029\u0085]/g;
const ESCAPES: Readonly<Record<string, string>> = { '\u2028': '\\u2028', '\u2029': '\\u2029', '\u0085': '\\u0085' };

/** `json` with the three separators escaped (the same string when it has none). */
export function escapeLineSeparators(json: string): string {
  return json.replace(SEPARATORS, (c) => ESCAPES[c] as string);
}

const ESCAPE_2028 = Buffer.from('\\u2028', 'latin1');
const ESCAPE_2029 = Buffer.from('\\u2029', 'latin1');
const ESCAPE_0085 = Buffer.from('\\u0085', 'latin1');

/**
 * The length of the separator whose UTF-8 starts at `bytes[i]` (E2 80 A8, E2 80 A9 or C2 85), or 0.
 * A caller that scans for them needs to look only at bytes 0xE2 and 0xC2, i.e. `(c | 0x20) === 0xe2`.
 */
export function separatorLength(bytes: Uint8Array, i: number): number {
  const c = bytes[i];
  if (c === 0xe2) return bytes[i + 1] === 0x80 && (bytes[i + 2] === 0xa8 || bytes[i + 2] === 0xa9) ? 3 : 0;
  if (c === 0xc2) return bytes[i + 1] === 0x85 ? 2 : 0;
  return 0;
}

/** How many bytes escaping the separators at these positions of `bytes` adds. */
export function escapedGrowth(bytes: Uint8Array, at: readonly number[]): number {
  let grow = 0;
  for (const i of at) grow += 6 - separatorLength(bytes, i);
  return grow;
}

/** How many bytes escaping the separators before position `p` adds (`at` ascending). */
export function growthBefore(bytes: Uint8Array, at: readonly number[], p: number): number {
  let grow = 0;
  for (const i of at) {
    if (i >= p) break;
    grow += 6 - separatorLength(bytes, i);
  }
  return grow;
}

/**
 * Copies `source[from, to)` into `target` at `offset`, writing the separators at positions `at`
 * (ascending, as found by a scan of `source`) escaped; returns the offset past the copy.
 */
export function copyEscaped(source: Buffer, from: number, to: number, target: Buffer, offset: number, at: readonly number[]): number {
  let next = from;
  let out = offset;
  for (const i of at) {
    if (i < from) continue;
    if (i >= to) break;
    out += source.copy(target, out, next, i);
    const length = separatorLength(source, i);
    const escape = length === 2 ? ESCAPE_0085 : source[i + 2] === 0xa8 ? ESCAPE_2028 : ESCAPE_2029;
    out += escape.copy(target, out);
    next = i + length;
  }
  return out + source.copy(target, out, next, to);
}
