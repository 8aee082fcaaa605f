import { randomBytes } from 'node:crypto';
import { constants, zstdDecompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FRAME_END } from '../../src/compress/shared-frame.ts';
import { ZstdStream } from '../../src/compress/zstd-stream.ts';

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const partial = (wire: Buffer) => zstdDecompressSync(wire, { finishFlush: constants.ZSTD_e_flush }).toString();

describe('ZstdStream', () => {
  it('returns each write flushed: what was written so far decodes from the bytes returned so far', () => {
    const stream = new ZstdStream(3, 15);
    const wire: Buffer[] = [];
    let plain = '';
    for (let i = 0; i < 50; i++) {
      const text = `event: message\ndata: {"seq":${i},"title":"Page ${i % 7}"}\n\n`;
      wire.push(stream.write(Buffer.from(text), false));
      plain += text;
      expect(partial(Buffer.concat(wire))).toBe(plain);
    }
    // Later writes refer to earlier ones: far smaller than the first.
    expect(wire[49]!.length).toBeLessThan(wire[0]!.length / 2);
    stream.close();
  });

  it('ends the frame on request, and the next write starts a new frame; an open frame is ended by FRAME_END', () => {
    const stream = new ZstdStream(3, 15);
    const first = Buffer.concat([stream.write(Buffer.from('one\n'), false), stream.write(Buffer.from('two\n'), true)]);
    const second = stream.write(Buffer.from('three\n'), false);
    expect(first.subarray(0, 4)).toEqual(ZSTD_MAGIC);
    expect(second.subarray(0, 4)).toEqual(ZSTD_MAGIC);
    // A strict decoder takes both frames once the second is ended.
    expect(() => zstdDecompressSync(Buffer.concat([first, second]))).toThrow();
    expect(zstdDecompressSync(Buffer.concat([first, second, FRAME_END])).toString()).toBe('one\ntwo\nthree\n');
    stream.close();
    expect(() => stream.write(Buffer.from('x'), false)).toThrow(/closed/);
  });

  it('returns all of a write whose output is larger than one engine call takes', () => {
    const stream = new ZstdStream(1, 15);
    // Random bytes do not compress: about 200 KiB out, several calls of 64 KiB.
    const input = randomBytes(200 * 1024);
    const out = stream.write(input, true);
    expect(out.length).toBeGreaterThan(64 * 1024);
    expect(zstdDecompressSync(out).equals(input)).toBe(true);
    stream.close();
  });
});
