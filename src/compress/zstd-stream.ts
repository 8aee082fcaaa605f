import { constants, createZstdCompress, type ZstdCompress } from 'node:zlib';

/**
 * What a Node zlib stream exposes to its own synchronous path (`zlib.*Sync` drives the same
 * engine through it): the engine's `writeSync` and the state it leaves in `_writeState`
 * ([bytes of output space left, bytes of input left]). Node's public streaming API only runs on the
 * thread pool, and a fan-out pass must have a group's segment in hand when it writes its members;
 * the one-shot `zstdCompressSync` keeps no state between writes. No zstd library with a
 * synchronous streaming API installs without a native build from the internet, so this module
 * relies on these two internals of the pinned Node (`test/unit/zstd-stream.test.ts` would fail on a
 * Node without them).
 */
interface EngineInternals {
  _handle: { writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void } | null;
  _writeState: Uint32Array;
}

/** Output space per engine call; a flush of more (rare: a batch over 64 KiB) takes further calls. */
const OUT_BYTES = 64 * 1024;

/**
 * One zstd compressor written to synchronously: each `write` returns what the engine produced,
 * flushed so a decoder gets every byte written so far (`ZSTD_e_flush`), or with the frame ended
 * (`ZSTD_e_end`); the next write then starts a new frame.
 */
export class ZstdStream {
  readonly #engine: ZstdCompress & EngineInternals;
  readonly #out = Buffer.allocUnsafe(OUT_BYTES);
  #error: Error | undefined;

  constructor(level: number, windowLog: number) {
    this.#engine = createZstdCompress({
      params: { [constants.ZSTD_c_compressionLevel]: level, [constants.ZSTD_c_windowLog]: windowLog },
    }) as ZstdCompress & EngineInternals;
    // The engine reports errors by an event, during `writeSync`.
    this.#engine.on('error', (error: Error) => {
      this.#error = error;
    });
  }

  write(input: Buffer, endFrame: boolean): Buffer {
    const handle = this.#engine._handle;
    if (handle === null) throw new Error('zstd stream closed');
    const state = this.#engine._writeState;
    const out = this.#out;
    const parts: Buffer[] = [];
    let inOff = 0;
    let inLen = input.length;
    for (;;) {
      handle.writeSync(endFrame ? constants.ZSTD_e_end : constants.ZSTD_e_flush, input, inOff, inLen, out, 0, out.length);
      if (this.#error !== undefined) throw this.#error;
      const outLeft = state[0]!;
      const inLeft = state[1]!;
      parts.push(Buffer.from(out.subarray(0, out.length - outLeft)));
      inOff += inLen - inLeft;
      inLen = inLeft;
      // Output space left over: the engine has flushed everything.
      if (outLeft !== 0) break;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Frees the engine's memory (a few MiB) now rather than at garbage collection. */
  close(): void {
    this.#engine.close();
  }
}
