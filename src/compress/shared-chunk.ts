import { constants, deflateRawSync, zstdCompressSync } from 'node:zlib';
import type { DeflateContainer } from './containers.ts';
import type { FrameLink, SharedFrame } from './shared-frame.ts';
import type { SharedHistory } from './shared-history.ts';

/** A segment of a raw deflate stream that ends byte-aligned: segments concatenate into one stream. */
export function deflateSegment(data: Buffer, level: number, dictionary?: Buffer): Buffer {
  return deflateRawSync(data, { level, finishFlush: constants.Z_SYNC_FLUSH, ...(dictionary !== undefined && dictionary.length > 0 ? { dictionary } : {}) });
}

/** A whole zstd frame: a zstd body is any sequence of them. */
export function zstdFrame(data: Buffer, level: number): Buffer {
  return zstdCompressSync(data, { params: { [constants.ZSTD_c_compressionLevel]: level } });
}

/** Where a chunk sits in a shared history: its segment refers back into the history before it. */
export interface ChainLink {
  readonly history: SharedHistory;
  /** The chunk is the history's `seq`-th segment. */
  readonly seq: number;
  /** Bytes of history before it that a decoder's window must hold: min(window, history length). */
  readonly needs: number;
  readonly segment: Buffer;
}

interface Checksum {
  readonly value: number;
  readonly operator: number;
}

/**
 * Bytes that every connection in one state gets this turn (a write batch), with the work each
 * content coding does on them, done once for all of them: checksums, a history-free segment and,
 * when the batch extends a shared history, the segment that refers to it; for zstd, a frame of its
 * own and the segment of its group's shared frame. Dropped with the turn.
 */
export class SharedChunk {
  readonly bytes: Buffer;
  /** The positions the chunk leads from and to (opaque): a chunk from where a history ends continues it. */
  readonly from: object | undefined;
  readonly to: object | undefined;
  #standalone: Buffer | undefined;
  #zstd: Buffer | undefined;
  #link: ChainLink | undefined;
  #frameLink: FrameLink | undefined;
  readonly #checksums = new Map<DeflateContainer, Checksum>();

  constructor(bytes: Buffer, from?: object, to?: object) {
    this.bytes = bytes;
    this.from = from;
    this.to = to;
  }

  get link(): ChainLink | undefined {
    return this.#link;
  }

  /** Appends the chunk to `history` (once): its segment may refer to what the history holds. */
  extend(history: SharedHistory, level: number): ChainLink {
    this.#link ??= history.append(this.bytes, level, this.to);
    return this.#link;
  }

  /** A raw deflate segment that needs no history. */
  standalone(level: number): Buffer {
    this.#standalone ??= deflateSegment(this.bytes, level);
    return this.#standalone;
  }

  get frameLink(): FrameLink | undefined {
    return this.#frameLink;
  }

  /** Appends the chunk to its group's shared zstd frame (once). */
  extendFrame(frame: SharedFrame): FrameLink {
    this.#frameLink ??= frame.append(this.bytes, this.to);
    return this.#frameLink;
  }

  /** A zstd frame of its own. */
  zstd(level: number): Buffer {
    this.#zstd ??= zstdFrame(this.bytes, level);
    return this.#zstd;
  }

  checksum(container: DeflateContainer): Checksum {
    let sum = this.#checksums.get(container);
    if (sum === undefined) {
      const { checksum } = container;
      sum = { value: checksum.of(this.bytes, checksum.initial), operator: checksum.operator(this.bytes.length) };
      this.#checksums.set(container, sum);
    }
    return sum;
  }
}
