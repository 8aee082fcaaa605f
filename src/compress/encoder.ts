import type { ContentCoding } from '../protocol/content-coding.ts';
import { DEFLATE_CONTAINERS, type DeflateCoding, type DeflateContainer } from './containers.ts';
import { deflateSegment, zstdFrame, type SharedChunk } from './shared-chunk.ts';
import { DEFLATE_WINDOW, SharedHistories, type SharedHistory } from './shared-history.ts';

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
  readonly #histories: SharedHistories;
  readonly #history: SharedHistory | undefined;
  #started = false;
  #checksum: number;
  #bytes = 0;
  /** The history segment this connection's output ends with (-1: none). */
  #seq = -1;
  /** How many trailing bytes of this connection's output equal the history's up to `#seq`. */
  #synced = 0;

  constructor(coding: DeflateCoding, level: number, constants: ConstantCache, histories: SharedHistories, group: string) {
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
    // What the connections at the head of the history are sent next extends it: a chunk from where
    // the history ends (whoever offers it first), or one a connection at the head offers; when no
    // connection is at the head, any chunk.
    const continues = (chunk.from !== undefined && chunk.from === history.end) || this.#seq === history.seq || history.atHead === 0;
    const link = chunk.link ?? (continues ? chunk.extend(history, this.#level) : undefined);
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
    const history = this.#history;
    if (history !== undefined) {
      if (this.#seq === history.seq && this.#seq >= 0) history.atHead--;
      if (seq === history.seq && seq >= 0) history.atHead++;
    }
    this.#seq = seq;
    this.#synced = synced;
  }

  #start(out: Buffer): Buffer {
    if (this.#started) return out;
    this.#started = true;
    return Buffer.concat([this.#container.header, out]);
  }
}

/** zstd: every write a frame of its own (a zstd body is a sequence of frames); shared chunks compressed once. */
class ZstdEncoder implements BodyEncoder {
  readonly coding: ContentCoding = 'zstd';
  readonly #level: number;
  readonly #constants: ConstantCache;

  constructor(level: number, constants: ConstantCache) {
    this.#level = level;
    this.#constants = constants;
  }

  own(data: string | Buffer): Buffer {
    if (typeof data === 'string' && data.length <= CONSTANT_MAX_LENGTH) return this.#constants.get(data, (b) => zstdFrame(b, this.#level));
    return zstdFrame(typeof data === 'string' ? Buffer.from(data) : data, this.#level);
  }

  shared(chunk: SharedChunk): Buffer {
    return chunk.zstd(this.#level);
  }

  finish(): undefined {
    return undefined;
  }

  release(): void {}
}

/**
 * Builds each connection's encoder; holds what encoders share: the groups' histories (bounded)
 * and the compressed constants.
 */
export class Compression {
  readonly #settings: CompressionSettings;
  readonly #histories: SharedHistories;
  readonly #constants = { deflate: new ConstantCache(), zstd: new ConstantCache() };

  constructor(settings: CompressionSettings, maxSharedHistories: number) {
    this.#settings = settings;
    this.#histories = new SharedHistories(maxSharedHistories);
  }

  /** Shared histories in use (metrics). */
  get sharedHistories(): number {
    return this.#histories.size;
  }

  /** An encoder for one connection of `group` (connections with byte-identical batches). */
  encoder(coding: ContentCoding, group: string): BodyEncoder {
    switch (coding) {
      case 'identity':
        return IDENTITY;
      case 'zstd':
        return new ZstdEncoder(this.#settings.zstdLevel, this.#constants.zstd);
      default:
        // gzip and deflate carry the same raw deflate stream: their connections share one history.
        return new DeflateEncoder(coding, this.#settings.deflateLevel, this.#constants.deflate, this.#histories, group);
    }
  }
}
