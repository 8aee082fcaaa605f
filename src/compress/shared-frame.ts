import type { SegmentChain } from './group-shares.ts';
import { ZstdStream } from './zstd-stream.ts';

/** zstd's window: deflate's 32 KiB, so a group's compressor holds about 1 MiB, not the 8 MiB of level 3's default. */
export const ZSTD_WINDOW_LOG = 15;

/**
 * Content per shared frame. A connection can only enter a frame at its start (a zstd block refers
 * to what its frame decoded before), so one that joins its group mid-frame gets a frame of its own
 * per write (about 3x the bytes) until the next frame starts: at most this much, about 2 s of
 * recentchange. Each new frame costs its first few KiB the history it does not have yet.
 */
export const FRAME_BYTES = 256 * 1024;

/** Ends a zstd frame: an empty raw block marked last (the frames carry no content checksum). */
export const FRAME_END = Buffer.from([0x01, 0x00, 0x00]);

/** Where a chunk sits in its group's shared frames. */
export interface FrameLink {
  readonly frame: SharedFrame;
  /** Its place in the group's stream (1, 2, ...): a connection in step has had `seq - 1`. */
  readonly seq: number;
  /** It starts a frame (its segment begins with the frame header). */
  readonly starts: boolean;
  /** Its segment ends the frame. */
  readonly ends: boolean;
  readonly segment: Buffer;
}

/**
 * The zstd frame a group of connections (same streams, filter and format) are all being sent, one
 * streaming compressor for the group: each batch is compressed once, flushed, and refers to what
 * the frame held before, so every connection that has had the frame from its start decodes it with
 * the ratio of a compressor of its own. Frames end every `FRAME_BYTES` so that connections that
 * joined meanwhile can enter the next one (a zstd body is any sequence of frames).
 */
export class SharedFrame implements SegmentChain {
  readonly key: string;
  refs = 0;
  seq = 0;
  atHead = 0;
  end: object | undefined;
  readonly #level: number;
  #stream: ZstdStream | undefined;
  /** A frame is open in the compressor; its content so far. */
  #open = false;
  #content = 0;

  constructor(key: string, level: number) {
    this.key = key;
    this.#level = level;
  }

  append(bytes: Buffer, to: object | undefined): FrameLink {
    // A frame that no connection has up to its last segment can go on for none of them.
    if (this.#open && this.atHead === 0) this.#abandon();
    this.#stream ??= new ZstdStream(this.#level, ZSTD_WINDOW_LOG);
    const starts = !this.#open;
    this.#content += bytes.length;
    const ends = this.#content >= FRAME_BYTES;
    const link: FrameLink = { frame: this, seq: ++this.seq, starts, ends, segment: this.#stream.write(bytes, ends) };
    if (ends) this.#reset();
    else this.#open = true;
    this.atHead = 0;
    this.end = to;
    return link;
  }

  close(): void {
    this.#stream?.close();
    this.#stream = undefined;
  }

  /** Ends the open frame inside the compressor (nobody is sent that end) so the next write starts a new one. */
  #abandon(): void {
    this.#stream?.write(Buffer.alloc(0), true);
    this.#reset();
  }

  #reset(): void {
    this.#open = false;
    this.#content = 0;
  }
}
