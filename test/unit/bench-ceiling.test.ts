import { constants, createDeflate, createGzip, createZstdCompress, type Deflate, type Gzip, type ZstdCompress } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BenchFrames } from '../../bench/lib/bench-frames.ts';
import { benchValue, loadTemplates, RECENTCHANGE_TOPICS } from '../../bench/lib/bench-events.ts';
import { CeilingFrames } from '../../bench/lib/ceiling-frames.ts';
import { bodyDecoder, codingCounts, codingOf, MIX, responseCoding, type Coding } from '../../bench/lib/encodings.ts';
import { SseParser } from '../../bench/lib/sse-parser.ts';
import { encodeEvent } from '../../src/event/codec.ts';
import { sseMessageHead } from '../../src/event/frame.ts';
import { PositionIds } from '../../src/stream/position-ids.ts';

const templates = loadTemplates();

/** What the service sends a live client for these events, built from its own parts. */
function serviceFrames(events: { seq: number; sentMs: number }[], startOffsets: number[]): Buffer[] {
  const ids = new PositionIds(RECENTCHANGE_TOPICS.map((topic, i) => ({ topic, partition: 0, offset: startOffsets[i]! })));
  const next = [...startOffsets];
  const last = RECENTCHANGE_TOPICS.map(() => ({ ts: -1, run: 0 }));
  return events.map(({ seq, sentMs }) => {
    const index = seq % RECENTCHANGE_TOPICS.length;
    const offset = next[index]!++;
    const run = last[index]!.ts === sentMs ? last[index]!.run + 1 : 1;
    last[index] = { ts: sentMs, run };
    ids.advance(index, offset, sentMs, 1, run);
    const encoded = encodeEvent({ topic: RECENTCHANGE_TOPICS[index]!, partition: 0, offset, timestamp: sentMs, key: null, value: benchValue(templates, seq, sentMs) }, 4 * 2 ** 20);
    if (!encoded.ok) throw new Error(encoded.reason);
    return Buffer.concat([Buffer.from(sseMessageHead(ids.toString())), encoded.frame]);
  });
}

describe('CeilingFrames', () => {
  it('builds, byte for byte, what the service sends for the bench events (ids with ts_seen, meta splice)', () => {
    // Ticks of 1 to 3 events, some in the same millisecond; the second partition delivers later.
    const events: { seq: number; sentMs: number }[] = [];
    let t = 1_796_297_402_021;
    for (let seq = 0, tick = 0; seq < 700; tick++) {
      const count = 1 + (tick % 3);
      for (let i = 0; i < count; i++) events.push({ seq: seq++, sentMs: t });
      t += 10;
    }
    const start = [120, 118];
    const ceiling = new CeilingFrames(templates, RECENTCHANGE_TOPICS, start);
    const ours = events.map((e) => ceiling.next(e.sentMs));
    const service = serviceFrames(events, start);
    expect(ours.length).toBe(service.length);
    for (let i = 0; i < ours.length; i++) expect(ours[i]!.toString()).toBe(service[i]!.toString());
    expect(ours[0]!.toString()).toContain('{"topic":"codfw.mediawiki.recentchange","partition":0,"offset":118}]');
    expect(ours[1]!.toString()).toContain('{"topic":"codfw.mediawiki.recentchange","partition":0,"timestamp":1796297402032,"ts_seen":1}]');
    // Tick 2 has three events: seqs 3 and 5 of the second partition in one millisecond.
    expect(ours[5]!.toString()).toContain('{"topic":"codfw.mediawiki.recentchange","partition":0,"timestamp":1796297402042,"ts_seen":2}]');
  });

  it('batches a tick into one buffer, in seq order', () => {
    const a = new CeilingFrames(templates, RECENTCHANGE_TOPICS);
    const b = new CeilingFrames(templates, RECENTCHANGE_TOPICS);
    expect(a.batch(3, 1000).equals(Buffer.concat([b.next(1000), b.next(1000), b.next(1000)]))).toBe(true);
    expect(a.nextSeq).toBe(3);
  });
});

describe('client codings', () => {
  it('mix is 40 % gzip, 20 % deflate, 20 % zstd, 20 % identity, for all clients and for the sampled ones', () => {
    expect(codingCounts(MIX.length, MIX, 1)).toEqual({ gzip: 4, deflate: 2, zstd: 2, identity: 2 });
    expect(codingCounts(10_000, MIX, 50)).toEqual({ gzip: 4000, deflate: 2000, zstd: 2000, identity: 2000 });
    const sampled: Partial<Record<Coding, number>> = {};
    for (let i = 0; i < 10_000; i += 50) {
      const c = codingOf(i, MIX, 50);
      sampled[c] = (sampled[c] ?? 0) + 1;
    }
    expect(sampled).toEqual({ gzip: 80, deflate: 40, zstd: 40, identity: 40 });
  });

  it('reads Content-Encoding', () => {
    expect(responseCoding(undefined)).toBe('identity');
    expect(responseCoding('gzip')).toBe('gzip');
    expect(responseCoding(' ZSTD ')).toBe('zstd');
    expect(responseCoding('br')).toBe('identity');
  });

  const compressors: Record<Exclude<Coding, 'identity'>, () => Gzip | Deflate | ZstdCompress> = {
    gzip: () => createGzip({ flush: constants.Z_SYNC_FLUSH }),
    deflate: () => createDeflate({ flush: constants.Z_SYNC_FLUSH }),
    zstd: () => createZstdCompress({ flush: constants.ZSTD_e_flush }),
  };

  for (const coding of ['gzip', 'deflate', 'zstd'] as const) {
    it(`${coding}: a flushed write decodes to its events as soon as it arrives, as one identity client reads them`, async () => {
      const frames = new CeilingFrames(templates, RECENTCHANGE_TOPICS);
      const batches = Array.from({ length: 20 }, (_, i) => frames.batch(1 + (i % 2), 1_700_000_000_000 + 10 * i));
      const z = compressors[coding]();
      const wire: Buffer[] = [];
      for (const batch of batches) {
        const out: Buffer[] = [];
        const onData = (d: Buffer): number => out.push(d);
        z.on('data', onData);
        await new Promise<void>((resolve) => z.write(batch, () => resolve()));
        await new Promise((r) => setImmediate(r));
        z.off('data', onData);
        wire.push(Buffer.concat(out));
      }
      const seen = (digests: number[][]): BenchFrames =>
        new BenchFrames({ message: (seq, _sent, digest) => digests.push([seq, digest]), named: () => undefined }, true);
      const decoded: number[][] = [];
      const parser = new SseParser(seen(decoded));
      const decoder = bodyDecoder(coding);
      decoder.on('data', (d: Buffer) => parser.push(d));
      let events = 0;
      for (let i = 0; i < wire.length; i++) {
        await new Promise<void>((resolve) => decoder.write(wire[i]!, () => resolve()));
        await new Promise((r) => setImmediate(r));
        events += 1 + (i % 2);
        expect(decoded.length).toBe(events);
      }
      const plain: number[][] = [];
      new SseParser(seen(plain)).push(Buffer.concat(batches));
      expect(decoded).toEqual(plain);
      expect(new Set(plain.map(([, d]) => d)).size).toBe(plain.length);
    });
  }
});
