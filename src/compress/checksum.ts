/**
 * The checksums the gzip and zlib trailers carry, kept per connection without rereading what was
 * sent: a batch shared by many connections has its checksum computed once, and each connection
 * folds it into its own running value in constant time (CRC-32 by a multiplication in GF(2)
 * modulo its polynomial, Adler-32 by modular arithmetic; the algebra zlib's `*_combine` use).
 */
import { crc32 } from 'node:zlib';

export { crc32 };

/** The CRC-32 polynomial, bit-reflected as the checksum is computed. */
const POLY = 0xedb88320;
const TOP = 0x80000000;

/** a(x)·b(x) modulo the CRC polynomial, both in reflected form (x^0 is the top bit). */
function multiplyModP(a: number, b: number): number {
  let product = 0;
  for (let m = TOP; ; m >>>= 1) {
    if (a & m) {
      product ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo the polynomial, k = 0..31 (x^1 is 2^30 in reflected form). */
const X_POW_2K = new Uint32Array(32);
X_POW_2K[0] = 0x40000000;
for (let k = 1; k < 32; k++) X_POW_2K[k] = multiplyModP(X_POW_2K[k - 1]!, X_POW_2K[k - 1]!);

/**
 * The operator that shifts a CRC past `bytes` bytes of data (x^(8·bytes) mod P): computed once per
 * shared batch, then used by every connection that appends it.
 */
export function crc32Shift(bytes: number): number {
  let p = TOP; // x^0
  // 8·bytes = bytes·2^3: start at x^(2^3).
  for (let n = bytes, k = 3; n > 0; n = Math.floor(n / 2), k++) if (n % 2 === 1) p = multiplyModP(X_POW_2K[k & 31]!, p);
  return p;
}

/** CRC-32 of A‖B from CRC(A), CRC(B) and `crc32Shift(B.length)`. */
export function crc32Combine(crcA: number, crcB: number, shiftB: number): number {
  return (multiplyModP(shiftB, crcA) ^ crcB) >>> 0;
}

const ADLER_BASE = 65521;
/** Most bytes whose sums cannot overflow 2^53 before the modulo: far more than any batch. */
const ADLER_CHUNK = 1 << 20;

/** Adler-32 of `data`, continuing from `adler` (1 for the empty string). */
export function adler32(data: Uint8Array, adler = 1): number {
  let a = adler & 0xffff;
  let b = adler >>> 16;
  for (let start = 0; start < data.length; start += ADLER_CHUNK) {
    const end = Math.min(data.length, start + ADLER_CHUNK);
    for (let i = start; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= ADLER_BASE;
    b %= ADLER_BASE;
  }
  return ((b << 16) | a) >>> 0;
}

/** Adler-32 of A‖B from Adler(A), Adler(B) and B's length. */
export function adler32Combine(adlerA: number, adlerB: number, bytesB: number): number {
  const rem = bytesB % ADLER_BASE;
  const a1 = adlerA & 0xffff;
  const b1 = adlerA >>> 16;
  const a = (a1 + (adlerB & 0xffff) + ADLER_BASE - 1) % ADLER_BASE;
  const b = ((rem * a1) % ADLER_BASE + b1 + (adlerB >>> 16) + ADLER_BASE - rem) % ADLER_BASE;
  return ((b << 16) | a) >>> 0;
}
