/**
 * Content codings of the fan-out benchmark's clients: what `--encodings` accepts, which coding
 * each client asks for, and the streaming decoders the load generator reads compressed bodies with.
 */
import { constants, createGunzip, createInflate, createZstdDecompress, type Gunzip, type Inflate, type ZstdDecompress } from 'node:zlib';

/** A coding a client asks for with `Accept-Encoding` (identity: asks for `identity`). */
export type Coding = 'identity' | 'gzip' | 'deflate' | 'zstd';
export const CODINGS: readonly Coding[] = ['identity', 'gzip', 'deflate', 'zstd'];

/** A setting of `--encodings`: every client one coding, or `mix`. */
export type EncodingSetting = Coding | 'mix';
export const ENCODING_SETTINGS: readonly EncodingSetting[] = [...CODINGS, 'mix'];

/**
 * `mix`: 40 % gzip (browsers, npm `eventsource`, python `requests`), 20 % deflate, 20 % zstd and
 * 20 % identity (curl, old clients), as a cycle of ten.
 */
export const MIX: readonly Coding[] = ['gzip', 'deflate', 'gzip', 'zstd', 'identity', 'gzip', 'deflate', 'gzip', 'zstd', 'identity'];

export function isEncodingSetting(value: string): value is EncodingSetting {
  return (ENCODING_SETTINGS as readonly string[]).includes(value);
}

/** The cycle of codings clients are given for a setting. */
export function codingPattern(setting: EncodingSetting): readonly Coding[] {
  return setting === 'mix' ? MIX : [setting];
}

/**
 * The coding of client `index`. The pattern is shifted by one every `sampleEvery` clients, so the
 * sampled clients (every `sampleEvery`-th) go through the whole pattern too and get each coding in
 * the same share as all clients (with a plain `index % 10`, every 50th client would always get the
 * same one).
 */
export function codingOf(index: number, pattern: readonly Coding[], sampleEvery: number): Coding {
  return pattern[(index + Math.floor(index / Math.max(1, sampleEvery))) % pattern.length]!;
}

/** How many of `clients` clients get each coding. */
export function codingCounts(clients: number, pattern: readonly Coding[], sampleEvery: number): Partial<Record<Coding, number>> {
  const out: Partial<Record<Coding, number>> = {};
  for (let i = 0; i < clients; i++) {
    const c = codingOf(i, pattern, sampleEvery);
    out[c] = (out[c] ?? 0) + 1;
  }
  return out;
}

/** The coding a response's `Content-Encoding` names (absent or unknown: identity). */
export function responseCoding(contentEncoding: string | undefined): Coding {
  const value = (contentEncoding ?? '').trim().toLowerCase();
  return value === 'gzip' || value === 'x-gzip' ? 'gzip' : value === 'deflate' || value === 'zstd' ? value : 'identity';
}

export type BodyDecoder = Gunzip | Inflate | ZstdDecompress;

/**
 * A streaming decoder of a compressed body that hands out what it can decode as soon as the bytes
 * are there (the service flushes every write); `finishFlush` so a stream cut without its trailer
 * still decodes up to its end. `deflate` is the zlib format (RFC 1950), as HTTP means it.
 */
export function bodyDecoder(coding: Exclude<Coding, 'identity'>): BodyDecoder {
  switch (coding) {
    case 'gzip':
      return createGunzip({ finishFlush: constants.Z_SYNC_FLUSH });
    case 'deflate':
      return createInflate({ finishFlush: constants.Z_SYNC_FLUSH });
    case 'zstd':
      return createZstdDecompress({ finishFlush: constants.ZSTD_e_flush });
  }
}
