import type { ContentCoding } from '../protocol/content-coding.ts';
import { DEFLATE_CONTAINERS, type DeflateCoding, type DeflateContainer } from './containers.ts';
import { deflateSegment, zstdFrame, type SharedChunk } from './shared-chunk.ts';
import { extendsChain, GroupShares, moveInChain } from './group-shares.ts';
import { FRAME_END, SharedFrame, type FrameLink } from './shared-frame.ts';
import { DEFLATE_WINDOW, SharedHistory } from './shared-history.ts';

/**
 * How one connection's body is encoded. Writes are either the connection's own (opening,
 * heartbeats, notices, errors) or a chunk shared with the other connections in its state; every
 * write comes out as bytes the client can decode at once (a flushed segment or a whole frame).
 */
export interface BodyEncoder {
  readonly coding: ContentCoding;
  own(data: string | Buffer): string | Buffer;
  shared(chunk: SharedChunk): Buffer;
  /** What ends the body cleanly (a trailer), if the coding has one. */
  finish(): Buffer | undefined;
  /** The connection closed: lets go of shared state. */
  release(): void;
}

export interface CompressionSettings {
  deflateLevel: number;
  zstdLevel: number;
  /** Groups with a shared deflate history at once (32 KiB each). */
  maxSharedHistories: number;
  /** Groups with a shared zstd frame at once (a compressor each). */
  maxSharedZstdStreams: number;
}

const IDENTITY: BodyEncoder = {
  coding: 'identity',
  own: (data) => data,
  shared: (chunk) => chunk.bytes,
  finish: () => undefined,
  release: () => undefined,
};

/** The few constant blocks a server writes on its own (opening, heartbeats), compressed once. */
class ConstantCache {
  static readonly MAX = 16;
  readonly #encoded = new Map<string, Buffer>();

  get(data: string, encode: (bytes: Buffer) => Buffer): Buffer {
    let out = this.#encoded.get(data);
    if (out === undefined) {
      out = encode(Buffer.from(data));
      if (this.#encoded.size < ConstantCache.MAX) this.#encoded.set(data, out);
    }
    return out;
  }
}

/** Short strings are the framing's constants; longer ones carry ids and are not worth keeping. */
const CONSTANT_MAX_LENGTH = 8;

/** gzip or deflate: one raw deflate stream in a container, sharing a history with the connection's group. */
class DeflateEncoder implements BodyEncoder {
  readonly coding: ContentCoding;
  readonly #container: DeflateContainer;
  readonly #level: number;
  readonly #constants: ConstantCache;
  readonly #histories: GroupShares<SharedHistory>;
  readonly #history: SharedHistory | undefined;
  #started = false;
  #checksum: number;
  #bytes = 0;
  /** The history segment this connection's output ends with (-1: none). */
  #seq = -1;
  /** How many trailing bytes of this connection's output equal the history's up to `#seq`. */
  #synced = 0;

  constructor(coding: DeflateCoding, level: number, constants: ConstantCache, histories: GroupShares<SharedHistory>, group: string) {
    this.coding = coding;
    this.#container = DEFLATE_CONTAINERS[coding];
    this.#level = level;
    this.#constants = constants;
    this.#histories = histories;
    this.#history = histories.acquire(group);
    this.#checksum = this.#container.checksum.initial;
  }

  own(data: string | Buffer): Buffer {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const segment =
      typeof data === 'string' && data.length <= CONSTANT_MAX_LENGTH ? this.#constants.get(data, (b) => deflateSegment(b, this.#level)) : deflateSegment(bytes, this.#level);
    this.#checksum = this.#container.checksum.of(bytes, this.#checksum);
    this.#bytes += bytes.length;
    // Its output now ends with bytes the history does not have.
    this.#moveTo(-1, 0);
    return this.#start(segment);
  }

  shared(chunk: SharedChunk): Buffer {
    const { bytes } = chunk;
    const sum = chunk.checksum(this.#container);
    this.#checksum = this.#container.checksum.combine(this.#checksum, sum.value, sum.operator);
    this.#bytes += bytes.length;
    return this.#start(this.#segment(chunk));
  }

  finish(): Buffer {
    return this.#start(this.#container.trailer(this.#checksum, this.#bytes));
  }

  release(): void {
    if (this.#history === undefined) return;
    this.#moveTo(-1, 0);
    this.#histories.release(this.#history);
  }

  #segment(chunk: SharedChunk): Buffer {
    const history = this.#history;
    if (history === undefined) return chunk.standalone(this.#level);
    const link = chunk.link ?? (extendsChain(history, this.#seq, chunk.from) ? chunk.extend(history, this.#level) : undefined);
    if (link === undefined || link.history !== history) {
      this.#moveTo(-1, 0);
      return chunk.standalone(this.#level);
    }
    const continuous = this.#seq === link.seq - 1;
    const segment = continuous && this.#synced >= link.needs ? link.segment : chunk.standalone(this.#level);
    // Both this output and the history now end with the chunk's bytes.
    this.#moveTo(link.seq, Math.min(DEFLATE_WINDOW, (continuous ? this.#synced : 0) + chunk.bytes.length));
    return segment;
  }

  #moveTo(seq: number, synced: number): void {
    if (this.#history !== undefined) moveInChain(this.#history, this.#seq, seq);
    this.#seq = seq;
    this.#synced = synced;
  }

  #start(out: Buffer): Buffer {
    if (this.#started) return out;
    this.#started = true;
    return Buffer.concat([this.#container.header, out]);
  }
}

/**
 * zstd: the group's shared frames (`SharedFrame`) while this connection is in step with them,
 * otherwise a frame of its own per write (shared chunks' still compressed once for all).
 */
class ZstdEncoder implements BodyEncoder {
  readonly coding: ContentCoding = 'zstd';
  readonly #level: number;
  readonly #constants: ConstantCache;
  readonly #frames: GroupShares<SharedFrame>;
  readonly #frame: SharedFrame | undefined;
  /** The last segment of the group's stream this connection was sent (-1: none). */
  #seq = -1;
  /** Its output ends inside a frame: anything else it is sent must end that frame first. */
  #open = false;

  constructor(level: number, constants: ConstantCache, frames: GroupShares<SharedFrame>, group: string) {
    this.#level = level;
    this.#constants = constants;
    this.#frames = frames;
    this.#frame = frames.acquire(group);
  }

  own(data: string | Buffer): Buffer {
    const frame =
      typeof data === 'string' && data.length <= CONSTANT_MAX_LENGTH
        ? this.#constants.get(data, (b) => zstdFrame(b, this.#level))
        : zstdFrame(typeof data === 'string' ? Buffer.from(data) : data, this.#level);
    return this.#leave(frame);
  }

  shared(chunk: SharedChunk): Buffer {
    const frame = this.#frame;
    if (frame === undefined) return chunk.zstd(this.#level);
    const link = chunk.frameLink ?? (extendsChain(frame, this.#seq, chunk.from) ? chunk.extendFrame(frame) : undefined);
    if (link === undefined || link.frame !== frame) return this.#leave(chunk.zstd(this.#level));
    // A frame's first segment suits any connection between frames; the others only one that had the one before.
    if (link.starts) {
      const out = this.#open ? Buffer.concat([FRAME_END, link.segment]) : link.segment;
      this.#enter(link);
      return out;
    }
    if (!this.#open || this.#seq !== link.seq - 1) return this.#leave(chunk.zstd(this.#level));
    this.#enter(link);
    return link.segment;
  }

  finish(): Buffer | undefined {
    return this.#leave(undefined);
  }

  release(): void {
    if (this.#frame === undefined) return;
    this.#moveTo(-1);
    this.#frames.release(this.#frame);
  }

  #enter(link: FrameLink): void {
    this.#moveTo(link.seq);
    this.#open = !link.ends;
  }

  /** `out` (whole frames, or nothing), after the end of the shared frame this connection is in, if any. */
  #leave<T extends Buffer | undefined>(out: T): Buffer | T {
    this.#moveTo(-1);
    if (!this.#open) return out;
    this.#open = false;
    return out === undefined ? FRAME_END : Buffer.concat([FRAME_END, out]);
  }

  #moveTo(seq: number): void {
    if (this.#frame !== undefined) moveInChain(this.#frame, this.#seq, seq);
    this.#seq = seq;
  }
}

/**
 * Builds each connection's encoder; holds what encoders share: the groups' deflate histories and
 * zstd frames (each bounded) and the compressed constants.
 */
export class Compression {
  readonly #settings: CompressionSettings;
  readonly #histories: GroupShares<SharedHistory>;
  readonly #frames: GroupShares<SharedFrame>;
  readonly #constants = { deflate: new ConstantCache(), zstd: new ConstantCache() };

  constructor(settings: CompressionSettings) {
    this.#settings = settings;
    this.#histories = new GroupShares(settings.maxSharedHistories, (key) => new SharedHistory(key));
    this.#frames = new GroupShares(settings.maxSharedZstdStreams, (key) => new SharedFrame(key, settings.zstdLevel));
  }

  /** Shared deflate histories in use (metrics). */
  get sharedHistories(): number {
    return this.#histories.size;
  }

  /** Shared zstd streams in use (metrics). */
  get sharedZstdStreams(): number {
    return this.#frames.size;
  }

  /** An encoder for one connection of `group` (connections with byte-identical batches). */
  encoder(coding: ContentCoding, group: string): BodyEncoder {
    switch (coding) {
      case 'identity':
        return IDENTITY;
      case 'zstd':
        return new ZstdEncoder(this.#settings.zstdLevel, this.#constants.zstd, this.#frames, group);
      default:
        // gzip and deflate carry the same raw deflate stream: their connections share one history.
        return new DeflateEncoder(coding, this.#settings.deflateLevel, this.#constants.deflate, this.#histories, group);
    }
  }
}
