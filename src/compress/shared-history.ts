import type { SegmentChain } from './group-shares.ts';
import { deflateSegment, type ChainLink } from './shared-chunk.ts';

/** How far back a deflate segment may refer: the format's 32 KiB window. */
export const DEFLATE_WINDOW = 32 * 1024;

/**
 * The last 32 KiB that a group of connections (same streams, filter and format) were all sent,
 * as a chain of segments. A segment compressed against it (as a preset dictionary) decodes on
 * every connection whose output ends with the same 32 KiB: one compression for the whole group,
 * with the ratio of a compressor per connection. A connection joins the chain with history-free
 * segments of the chain's own batches until its window matches.
 */
export class SharedHistory implements SegmentChain {
  readonly key: string;
  /** Segments appended so far; a connection at `seq` has been sent exactly the chain's bytes up to here. */
  seq = 0;
  /** Connections at `seq`: while there are some, only they may extend the chain. */
  atHead = 0;
  /** Connections using the history. */
  refs = 0;
  /** Where the last appended chunk led (`SharedChunk.to`): the chunk that leads on from there continues the history. */
  end: object | undefined;
  #window = Buffer.alloc(0);

  constructor(key: string) {
    this.key = key;
  }

  append(bytes: Buffer, level: number, to: object | undefined): ChainLink {
    const needs = this.#window.length;
    const segment = deflateSegment(bytes, level, this.#window);
    const keep = Math.min(DEFLATE_WINDOW, needs + bytes.length);
    const fromBytes = Math.min(keep, bytes.length);
    // A buffer of its own: the window must not keep a whole write batch (or its pool slab) alive.
    const window = Buffer.allocUnsafeSlow(keep);
    this.#window.copy(window, 0, needs - (keep - fromBytes));
    bytes.copy(window, keep - fromBytes, bytes.length - fromBytes);
    this.#window = window;
    this.seq++;
    this.atHead = 0;
    this.end = to;
    return { history: this, seq: this.seq, needs, segment };
  }
}
