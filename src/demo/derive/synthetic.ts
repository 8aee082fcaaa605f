import { createHash } from 'node:crypto';

/**
 * Stand-ins for what a recentchange event does not carry (page and user ids, hashes, sizes): the
 * same input always gives the same value, so every event about one page or user agrees on it.
 */

function digest(key: string): Buffer {
  return createHash('sha1').update(key).digest();
}

/** An integer in [min, max) fixed by `key`. */
export function stableInt(key: string, min: number, max: number): number {
  return min + (digest(key).readUInt32BE(0) % (max - min));
}

/** A number in [0, 1) fixed by `key`. */
export function stableFraction(key: string): number {
  return digest(key).readUInt32BE(4) / 2 ** 32;
}

/** A SHA-1 in MediaWiki's base-36 spelling (31 characters), as rev_sha1 and content_sha1 are. */
export function stableSha1(key: string): string {
  return BigInt(`0x${digest(key).toString('hex')}`).toString(36).padStart(31, '0');
}

/** A UUID fixed by `key` (the v5 layout), so one source event always derives the same meta.id. */
export function stableUuid(key: string): string {
  const b = digest(key);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x50;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
