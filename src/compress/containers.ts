import type { ContentCoding } from '../protocol/content-coding.ts';
import { adler32, adler32Combine, crc32, crc32Combine, crc32Shift } from './checksum.ts';

/** Codings that wrap one raw deflate stream: they differ only in header and trailer. */
export type DeflateCoding = Exclude<ContentCoding, 'identity' | 'zstd'>;

/** A checksum of the uncompressed body, kept per connection and folded per batch. */
export interface BodyChecksum {
  readonly initial: number;
  of(data: Buffer, running: number): number;
  /** What `combine` needs besides the two checksums; computed once per shared batch. */
  operator(bytes: number): number;
  combine(running: number, batch: number, operator: number): number;
}

/** How a raw deflate stream is wrapped: RFC 1952 (gzip) or RFC 1950 (zlib, HTTP's `deflate`). */
export interface DeflateContainer {
  readonly header: Buffer;
  readonly checksum: BodyChecksum;
  trailer(checksum: number, bytes: number): Buffer;
}

/** An empty final block with fixed Huffman codes: ends a raw deflate stream of sync-flushed segments. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

const GZIP: DeflateContainer = {
  // Magic, CM = deflate, no flags, no mtime, no extra flags, OS unknown.
  header: Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]),
  checksum: {
    initial: 0,
    of: (data, running) => crc32(data, running),
    operator: crc32Shift,
    combine: crc32Combine,
  },
  trailer(checksum, bytes) {
    const out = Buffer.alloc(FINAL_BLOCK.length + 8);
    FINAL_BLOCK.copy(out);
    out.writeUInt32LE(checksum >>> 0, FINAL_BLOCK.length);
    // ISIZE is the length modulo 2^32.
    out.writeUInt32LE(bytes % 2 ** 32, FINAL_BLOCK.length + 4);
    return out;
  },
};

const ZLIB: DeflateContainer = {
  // CMF = deflate with a 32 KiB window, FLG = default level with a valid check.
  header: Buffer.from([0x78, 0x9c]),
  checksum: {
    initial: 1,
    of: (data, running) => adler32(data, running),
    operator: (bytes) => bytes,
    combine: adler32Combine,
  },
  trailer(checksum) {
    const out = Buffer.alloc(FINAL_BLOCK.length + 4);
    FINAL_BLOCK.copy(out);
    out.writeUInt32BE(checksum >>> 0, FINAL_BLOCK.length);
    return out;
  },
};

export const DEFLATE_CONTAINERS: Readonly<Record<DeflateCoding, DeflateContainer>> = { gzip: GZIP, deflate: ZLIB };
