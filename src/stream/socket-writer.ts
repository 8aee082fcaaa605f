/** Bytes in the socket's buffer past which we stop writing and wait for it to drain. */
export const SOCKET_HIGH_WATER = 64 * 1024;
/** Time an evicted client gets to take its last bytes before its connection is destroyed. */
export const EVICTION_GRACE_MS = 5000;

/** What the writer uses of a `ServerResponse` (a stream-backed fake in tests). */
export interface StreamResponse {
  readonly writableLength: number;
  readonly destroyed: boolean;
  readonly socket: { destroy(): void } | null;
  write(chunk: string | Buffer): boolean;
  end(callback?: () => void): void;
  once(event: 'drain' | 'close', listener: () => void): void;
}

export interface SocketWriterHooks {
  /** The socket drained after `awaitDrain`. */
  drained(): void;
  /** The connection closed, whoever closed it. */
  closed(): void;
  /** Bytes handed to the socket (metrics). */
  countBytes(bytes: number): void;
}

/** The one part of a stream that touches its response: writes, backpressure, the end. */
export class SocketWriter {
  /** Bytes handed to the socket over the stream's life. */
  bytesWritten = 0;
  /** When something was last written (epoch ms): heartbeats fill the silences. */
  lastWriteAt = Date.now();
  readonly #res: StreamResponse;
  readonly #hooks: SocketWriterHooks;
  #waitingDrain = false;

  constructor(res: StreamResponse, hooks: SocketWriterHooks) {
    this.#res = res;
    this.#hooks = hooks;
    res.once('close', () => hooks.closed());
  }

  /** The client may be gone before its 'close' event arrives; writing would only build an error. */
  get gone(): boolean {
    return this.#res.destroyed;
  }

  /** Bytes handed to the socket that it has not sent yet. */
  get buffered(): number {
    return this.#res.writableLength;
  }

  /** Writing more now would only grow the socket's buffer: wait for its drain. */
  get full(): boolean {
    return this.#res.writableLength >= SOCKET_HIGH_WATER;
  }

  write(chunk: string | Buffer): void {
    const bytes = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    this.lastWriteAt = Date.now();
    this.bytesWritten += bytes;
    this.#hooks.countBytes(bytes);
    this.#res.write(chunk);
  }

  /** Calls `drained` on the socket's next drain, once however often it is asked before. */
  awaitDrain(): void {
    if (this.#waitingDrain) return;
    this.#waitingDrain = true;
    this.#res.once('drain', () => {
      this.#waitingDrain = false;
      this.#hooks.drained();
    });
  }

  end(): void {
    this.#res.end();
  }

  /** Ends the response and closes the connection itself: once the last bytes are out, or after a grace period. */
  evict(): void {
    const socket = this.#res.socket;
    this.#res.end(() => socket?.destroy());
    setTimeout(() => socket?.destroy(), EVICTION_GRACE_MS).unref();
  }
}
