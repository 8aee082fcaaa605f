import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { KafkaMessage } from '../../src/kafka/records.ts';
import { decodeMessage, encodeEvent } from '../../src/event/codec.ts';
import { keyWatch, spliceMeta, watchable } from '../../src/event/meta-splice.ts';
import { FrameArena } from '../../src/event/frame.ts';

const FIELDS = '"topic":"eqiad.t","partition":2,"offset":77';
const message = (value: Buffer, key: Buffer | null = null): KafkaMessage => ({ topic: 'eqiad.t', partition: 2, offset: 77, timestamp: 1, key, value });

/** What the full parse path produces: the reference the splice must agree with. */
function reference(value: Buffer, key: Buffer | null = null): unknown {
  const decoded = decodeMessage(message(value, key), 1e9);
  return decoded.ok ? { json: JSON.parse(decoded.data), canary: decoded.canary } : { skip: decoded.reason };
}

function viaEncode(value: Buffer, key: Buffer | null = null): unknown {
  const encoded = encodeEvent(message(value, key), 1e9);
  if (!encoded.ok) return { skip: encoded.reason };
  const text = encoded.frame.toString('utf8');
  expect(text.startsWith('data: ')).toBe(true);
  expect(text.endsWith('\n\n')).toBe(true);
  expect(/[\r\n]/.test(text.slice(0, -2))).toBe(false);
  // Nor the separators Python's str.splitlines() breaks at (sseclient): they are served escaped.
  expect(/[\u2028\u2029\u0085]/.test(text)).toBe(false);
  return { json: JSON.parse(text.slice(6, -2)), canary: encoded.canary };
}

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 4294967296;
  };
}

const STRINGS = ['', 'plain', 'É ✓ 漢字 🎉', 'quote " back \\ slash', 'tab\tnew\nline', '\u2028\u2029', 'a\u0085b\u00a0c\u2027\u202a', '</script>', 'canary', 'x'.repeat(50)];
function randomValue(r: () => number, depth: number): unknown {
  const pick = Math.floor(r() * (depth > 3 ? 4 : 7));
  switch (pick) {
    case 0: return STRINGS[Math.floor(r() * STRINGS.length)];
    case 1: return [0, -1, 3.25, -0.5e-7, 1e21, 123456789012, Number.MAX_SAFE_INTEGER][Math.floor(r() * 7)];
    case 2: return [true, false, null][Math.floor(r() * 3)];
    case 3: return Math.floor(r() * 1000);
    case 4: return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: return randomObject(r, depth + 1);
  }
}
function randomObject(r: () => number, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 5); i > 0; i--) out[STRINGS[Math.floor(r() * STRINGS.length)] + String(i)] = randomValue(r, depth);
  return out;
}
function randomEvent(r: () => number): Record<string, unknown> {
  const event = randomObject(r, 1);
  const roll = r();
  if (roll < 0.7) {
    const meta = randomObject(r, 2);
    if (r() < 0.3) meta.domain = r() < 0.5 ? 'canary' : 'en.wikipedia.org';
    if (r() < 0.1) meta[['topic', 'partition', 'offset', 'key'][Math.floor(r() * 4)] as string] = 'old';
    event.meta = meta;
  } else if (roll < 0.8) {
    event.meta = randomValue(r, 3);
  }
  return event;
}

const realEvents = ['recentchange.2026-08-04.ndjson', 'page_change.v1.testwikidata+commons.2024-10.ndjson', 'schema-examples.wmf-schemas.ndjson'].flatMap((f) =>
  readFileSync(new URL(`../../data/demo/${f}`, import.meta.url), 'utf8').split('\n').filter((l) => l.trim() !== ''),
);

describe('spliceMeta', () => {
  it('takes the fast path for every real recorded event without escaped meta keys, and agrees with the full parse', () => {
    let fast = 0;
    let plain = 0;
    for (const line of realEvents) {
      const event = JSON.parse(line) as { meta?: Record<string, unknown> };
      if (event.meta) for (const k of ['topic', 'partition', 'offset', 'key']) delete event.meta[k];
      // One upstream schema example has a meta key with an escaped quote: that one takes the full parse.
      if (!Object.keys(event.meta ?? {}).some((k) => JSON.stringify(k).includes('\\'))) plain++;
      const value = Buffer.from(JSON.stringify(event));
      if (spliceMeta(value, FIELDS) !== undefined) fast++;
      expect(viaEncode(value)).toEqual(reference(value));
    }
    expect(plain).toBeGreaterThan(340);
    expect(fast).toBe(plain);
  });

  it('agrees with the full parse on 5,000 random events, compact and spaced, keyed or not', () => {
    const r = random(20261123);
    for (let i = 0; i < 5000; i++) {
      const event = randomEvent(r);
      const text = r() < 0.8 ? JSON.stringify(event) : JSON.stringify(event).replace(/,"/g, ' , "').replace(/":/g, '" : ');
      const value = Buffer.from(r() < 0.1 ? ` ${text} ` : text);
      const key = r() < 0.3 ? Buffer.from(['{"page_id":1}', 'plain key', '{"title":"É ✓ 漢字"}', 'clé'][Math.floor(r() * 4)] as string) : null;
      expect(viaEncode(value, key), text).toEqual(reference(value, key));
    }
  });

  it('never accepts what JSON.parse rejects, and never emits a line break (20,000 mutated inputs)', () => {
    const r = random(7);
    const base = Buffer.from(JSON.stringify({ a: [1, 2.5, { b: 'c\\"d' }], meta: { domain: 'x', dt: '2026' }, t: true, n: null }));
    const bytes = [0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x2c, 0x20, 0x0a, 0x30, 0x2d, 0x65, 0x2e, 0x75, 0x74, 0x41, 0xc3];
    for (let i = 0; i < 20_000; i++) {
      const mutated = Buffer.from(base);
      for (let m = 1 + Math.floor(r() * 3); m > 0; m--) mutated[Math.floor(r() * mutated.length)] = bytes[Math.floor(r() * bytes.length)] as number;
      const spliced = spliceMeta(mutated, FIELDS);
      let parses = true;
      try {
        JSON.parse(mutated.toString('utf8'));
      } catch {
        parses = false;
      }
      if (!parses) expect(spliced, mutated.toString()).toBeUndefined();
      if (spliced !== undefined) {
        const text = spliced.frame.toString('utf8');
        expect(/[\r\n]/.test(text.slice(0, -2))).toBe(false);
        expect(() => JSON.parse(text.slice(6, -2))).not.toThrow();
      }
    }
  });

  it.each([
    ['a pretty-printed event (line breaks)', '{\n  "a": 1\n}'],
    ['an escaped key that could be meta', '{"\\u006deta":{"a":1}}'],
    ['a meta that is not an object', '{"meta":"x"}'],
    ['two meta keys', '{"meta":{},"meta":{}}'],
    ['trailing garbage', '{"a":1} x'],
    ['a trailing comma', '{"a":1,}'],
    ['a leading zero', '{"a":01}'],
    ['a bad escape', '{"a":"\\x"}'],
    ['a truncated value', '{"a":"b'],
    ['an array', '[1,2]'],
  ])('leaves %s to the full parse', (_name, text) => {
    expect(spliceMeta(Buffer.from(text), FIELDS)).toBeUndefined();
  });

  it('places the fields at the end of meta, or adds meta at the end', () => {
    expect(spliceMeta(Buffer.from('{"meta":{"id":"u"},"x":1}'), FIELDS)?.frame.toString()).toBe(`data: {"meta":{"id":"u",${FIELDS}},"x":1}\n\n`);
    expect(spliceMeta(Buffer.from('{"meta":{}}'), FIELDS)?.frame.toString()).toBe(`data: {"meta":{${FIELDS}}}\n\n`);
    expect(spliceMeta(Buffer.from('{"x":1}'), FIELDS)?.frame.toString()).toBe(`data: {"x":1,"meta":{${FIELDS}}}\n\n`);
    expect(spliceMeta(Buffer.from('{}'), FIELDS)?.frame.toString()).toBe(`data: {"meta":{${FIELDS}}}\n\n`);
    expect(spliceMeta(Buffer.from('{"meta":{"domain":"canary"}}'), FIELDS)?.canary).toBe(true);
    expect(spliceMeta(Buffer.from('{"x":{"domain":"canary"}}'), FIELDS)?.canary).toBe(false);
  });

  it("notes where every watched key's value is, at any depth, in the frame", () => {
    // Keys of the random events, and keys no event has.
    const keys = [...[...STRINGS.slice(1, 4), STRINGS[6] as string].flatMap((k) => [`${k}1`, `${k}2`]), 'domain', 'meta', 'absent'].filter(watchable);
    const watch = keyWatch(keys);
    /** Every member with a watched key, as [key, value]. */
    const expected = (node: unknown, out: [string, unknown][] = []): [string, unknown][] => {
      if (Array.isArray(node)) for (const item of node) expected(item, out);
      else if (typeof node === 'object' && node !== null) {
        for (const [key, value] of Object.entries(node)) {
          if (keys.includes(key)) out.push([key, value]);
          expected(value, out);
        }
      }
      return out;
    };
    const r = random(20261203);
    const arena = new FrameArena(4096);
    let noted = 0;
    for (let i = 0; i < 3000; i++) {
      const event = randomEvent(r);
      const text = r() < 0.8 ? JSON.stringify(event) : JSON.stringify(event).replace(/,"/g, ' , "').replace(/":/g, '" : ');
      const spliced = spliceMeta(Buffer.from(text), FIELDS, r() < 0.5 ? arena.alloc : undefined, watch);
      if (spliced === undefined) continue;
      const watched = spliced.watched ?? [];
      const found: [string, unknown][] = [];
      for (let k = 0; k < watched.length; k += 3) found.push([keys[watched[k] as number] as string, JSON.parse(spliced.frame.toString('utf8', watched[k + 1], watched[k + 2]))]);
      // The position fields the service adds are not the event's.
      const want = expected(JSON.parse(spliced.frame.toString('utf8', 6, spliced.frame.length - 2))).filter(([key, value]) => !(key === 'meta' && typeof value === 'object' && value !== null && 'offset' in value && !('offset' in ((event.meta as object | undefined) ?? {}))));
      // Compared as sets: the scan notes a member after its value, and objects reorder integer-like keys.
      const sorted = (list: [string, unknown][]) => list.map((entry) => JSON.stringify(entry)).sort();
      expect(sorted(found), text).toEqual(sorted(want));
      noted += found.length;
    }
    expect(noted).toBeGreaterThan(500);
  });

  it('finds every quote, backslash and control byte in a string wherever it falls in the words of memory, up to the end of the memory', () => {
    const memory = Buffer.alloc(4096, 0x20);
    let checked = 0;
    // Raw: a quote, a backslash (escaping what follows), control bytes, a two-byte character; escapes as JSON writes them;
    // bytes right after a quote or backslash that a word-wide test may flag too ('#' is '"' + 1, ']' is '\\' + 1).
    const specials = ['"', '\\', '\\"', '\n', '\u0001', '\u001f', 'é', '\t', String.raw`\n`, String.raw`\u00e9`, String.raw`\\`, String.raw`\x`, '\u2028', '\u2029', '\u0085', '\u00a0', '\u2027', '–\u2028', String.raw`\"#`, String.raw`\\]`, '\u0001 '];
    for (const special of specials) {
      for (let before = 0; before < 9; before++) {
        for (let offset = 0; offset < 4; offset++) {
          const text = `{"k":"${'a'.repeat(before)}${special}${'b'.repeat(7 - (before % 8))}","x":1}`;
          const bytes = Buffer.from(text);
          bytes.copy(memory, 64 + offset);
          const value = memory.subarray(64 + offset, 64 + offset + bytes.length);
          let parses = true;
          try {
            JSON.parse(text);
          } catch {
            parses = false;
          }
          const spliced = spliceMeta(value, FIELDS);
          expect(spliced !== undefined, `${JSON.stringify(text)} at offset ${offset}`).toBe(parses && !/[\x00-\x1f]/.test(text));
          // The same value alone in memory of its own: its last bytes are past the last whole word.
          const alone = Buffer.allocUnsafeSlow(bytes.length);
          bytes.copy(alone);
          expect(spliceMeta(alone, FIELDS)?.frame).toEqual(spliced?.frame);
          if (spliced !== undefined) {
            const served = spliced.frame.toString('utf8', 6, spliced.frame.length - 2);
            expect(JSON.parse(served).k).toBe(JSON.parse(text).k);
            expect(/[\u2028\u2029\u0085]/.test(served)).toBe(false);
          }
          checked++;
        }
      }
    }
    expect(checked).toBe(specials.length * 9 * 4);
  });

  it('writes U+2028, U+2029 and U+0085 escaped, in keys and values, before and after the spliced fields', () => {
    const text = '{"t\u2028":"a\u2028b\u2029c","meta":{"c":"\u0085"},"z":"\u2029"}';
    const spliced = spliceMeta(Buffer.from(text), FIELDS, new FrameArena(4096).alloc, keyWatch(['z', 'c']));
    expect(spliced?.frame.toString()).toBe(`data: {"t\\u2028":"a\\u2028b\\u2029c","meta":{"c":"\\u0085",${FIELDS}},"z":"\\u2029"}\n\n`);
    const frame = spliced?.frame as Buffer;
    const watched = spliced?.watched ?? [];
    const values = [];
    for (let k = 0; k < watched.length; k += 3) values.push(frame.toString('utf8', watched[k + 1], watched[k + 2]));
    expect(values.sort()).toEqual(['"\\u0085"', '"\\u2029"']);
    // The full parse path (an escaped key here) escapes them too.
    expect(encodeEvent(message(Buffer.from('{"\\u0061":"x\u2028y"}')), 1e9)).toMatchObject({ ok: true, frame: Buffer.from(`data: {"a":"x\\u2028y","meta":{${FIELDS}}}\n\n`) });
  });

  it('carves frames out of shared chunks without overlap, large ones apart', () => {
    const arena = new FrameArena(1024);
    const a = arena.alloc(100);
    const b = arena.alloc(100);
    a.fill(1);
    b.fill(2);
    expect(a.buffer).toBe(b.buffer);
    expect([...a].every((x) => x === 1) && [...b].every((x) => x === 2)).toBe(true);
    const big = arena.alloc(600);
    expect(big.buffer).not.toBe(a.buffer);
    expect(big.byteOffset).toBe(0);
    const next = arena.alloc(950);
    expect(next.length).toBe(950);
  });

  it('refuses keys it cannot watch', () => {
    expect(watchable('rev_id')).toBe(true);
    expect(watchable('a"b')).toBe(false);
    expect(watchable('x'.repeat(65))).toBe(false);
    expect(() => keyWatch(['a\\b'])).toThrow();
  });
});
