import type { BodyEncoder } from '../compress/encoder.ts';
import type { SharedChunk } from '../compress/shared-chunk.ts';
import type { JoinedRuns } from './joined-runs.ts';

/** Bytes in the socket's buffer past which we stop writing and wait for it to drain. */
export const SOCKET_HIGH_WATER = 64 * 1024;
/** Time an evicted client gets to take its last bytes before its connection is reset. */
export const EVICTION_GRACE_MS = 5000;

/** What the writer uses of a `ServerResponse` (a stream-backed fake in tests). */
export interface StreamResponse {
  readonly writableLength: number;
  readonly destroyed: boolean;
  readonly socket: { readonly destroyed: boolean; destroy(): void; resetAndDestroy(): void } | null;
  write(chunk: string | Buffer): boolean;
  end(callback?: () => void): void;
  once(event: 'drain', listener: () => void): void;
  on(event: 'close', listener: () => void): void;
}

export interface SocketWriterHooks {
  /** The socket drained after `awaitDrain`. */
  drained(): void;
  /** The connection closed, whoever closed it. */
  closed(): void;
  /** Bytes handed to the socket (metrics). */
  countBytes(bytes: number): void;
}

const toBytes = (chunk: string | Buffer): number => (typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length);

/**
 * The one part of a stream that touches its response: writes (through the connection's content
 * coding), backpressure, the end.
 */
export class SocketWriter {
  /** Bytes handed to the socket over the stream's life (as sent: compressed when the body is). */
  bytesWritten = 0;
  /** When something was last written (epoch ms): heartbeats fill the silences. */
  lastWriteAt = Date.now();
  readonly #res: StreamResponse;
  readonly #hooks: SocketWriterHooks;
  readonly #encoder: BodyEncoder;
  #waitingDrain = false;
  /** The socket's buffer when last read, plus everything written since: it only shrinks in between. */
  #bufferedBound = 0;

  constructor(res: StreamResponse, encoder: BodyEncoder, hooks: SocketWriterHooks) {
    this.#res = res;
    this.#hooks = hooks;
    this.#encoder = encoder;
    // `on`, not `once`: 'close' comes once, and `once` keeps a wrapper (~300 bytes) for the connection's life.
    res.on('close', () => {
      encoder.release();
      hooks.closed();
    });
  }

  /** The client may be gone before its 'close' event arrives; writing would only build an error. */
  get gone(): boolean {
    return this.#res.destroyed;
  }

  /** Bytes handed to the socket that it has not sent yet. */
  get buffered(): number {
    return this.#res.writableLength;
  }

  /**
   * At least `buffered`, without asking the socket: per event, asking costs more than the rest of
   * a client's work (a chain of getters through the response and the socket).
   */
  get bufferedAtMost(): number {
    return this.#bufferedBound;
  }

  /** Writing more now would only grow the socket's buffer: wait for its drain. */
  get full(): boolean {
    return this.holding(SOCKET_HIGH_WATER) >= SOCKET_HIGH_WATER;
  }

  /** What the socket's buffer holds, asked only when the bound says it may hold `atLeast` or more (else the bound). */
  holding(atLeast: number): number {
    if (this.#bufferedBound >= atLeast) this.#bufferedBound = this.#res.writableLength;
    return this.#bufferedBound;
  }

  /** Bytes of this connection only. */
  write(data: string | Buffer): void {
    this.#send(this.#encoder.own(data));
  }

  /** A batch shared with the connections in the same state: encoded once for all of them. */
  writeShared(chunk: SharedChunk): void {
    this.#send(this.#encoder.shared(chunk));
  }

  /**
   * Consecutive shared batches, from `chunks[from]` on, in one write: encoded one by one (the
   * coding's state follows each), joined once for the connections that get the same run.
   */
  writeRun(chunks: readonly SharedChunk[], from: number, start: number, runs: JoinedRuns): void {
    if (from === chunks.length - 1) return this.writeShared(chunks[from]!);
    const parts: Buffer[] = [];
    for (let i = from; i < chunks.length; i++) parts.push(this.#encoder.shared(chunks[i]!));
    this.#send(runs.join(start, parts));
  }

  #send(out: string | Buffer): void {
    const bytes = toBytes(out);
    this.lastWriteAt = Date.now();
    this.bytesWritten += bytes;
    this.#bufferedBound += bytes;
    this.#hooks.countBytes(bytes);
    this.#res.write(out);
  }

  /** The coding's trailer, so a clean end is a complete body (a client that checks it sees no truncation). */
  #finish(): void {
    const trailer = this.#encoder.finish();
    if (trailer !== undefined && !this.#res.destroyed) this.#send(trailer);
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
    this.#finish();
    this.#res.end();
  }

  /**
   * Ends the response and closes the connection itself: once the last bytes are out, or else
   * after a grace period with a reset. A client that took nothing in that time would leave the
   * kernel holding up to a full send buffer for it (`net.ipv4.tcp_wmem`, 4 MiB by default) after
   * the close, for as long as the client stays without reading; many of them put every
   * connection of the host under TCP memory pressure. A reset frees it at once; the client
   * resumes with the last id it read.
   */
  evict(): void {
    const socket = this.#res.socket;
    this.#finish();
    this.#res.end(() => socket?.destroy());
    setTimeout(() => {
      if (socket !== null && !socket.destroyed) socket.resetAndDestroy();
    }, EVICTION_GRACE_MS).unref();
  }
}
