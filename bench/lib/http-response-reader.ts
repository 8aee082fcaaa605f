/**
 * The HTTP/1.1 response reader of the load generator: the response head, then chunked transfer
 * decoding on bytes, so one process can follow thousands of streams.
 */

const CRLFCRLF = Buffer.from('\r\n\r\n');

export interface ResponseHead {
  status: number;
  chunked: boolean;
  /** The `Content-Encoding` header's value, lower case (undefined: none). */
  contentEncoding: string | undefined;
  headers: string;
}

export type BodySink = (buf: Buffer, start: number, end: number) => void;

/**
 * Reads one HTTP/1.1 response from a socket: the head, then the body with chunked transfer
 * decoding (parsed on bytes), handing body byte ranges to `body` (views of the input).
 */
export class HttpResponseReader {
  head: ResponseHead | null = null;
  /** True after the terminating zero-length chunk. */
  ended = false;
  #headBuf: Buffer | null = null;
  /** 0: chunk size line, 1: chunk data, 2: CRLF after the data. */
  #state = 0;
  #size = 0;
  #sizeDigits = 0;
  /** Past the hex digits of the size line (an extension or CR follows). */
  #sizeDone = false;
  #left = 0;
  readonly #body: BodySink | null;

  /** body null: only the head is parsed (the caller counts bytes itself). */
  constructor(body: BodySink | null) {
    this.#body = body;
  }

  /** Returns the number of body bytes (after the head) in `input`. */
  push(input: Buffer): number {
    let buf = input;
    let p = 0;
    if (this.head === null) {
      if (this.#headBuf !== null) buf = Buffer.concat([this.#headBuf, input]);
      const idx = buf.indexOf(CRLFCRLF);
      if (idx < 0) {
        this.#headBuf = Buffer.from(buf);
        if (this.#headBuf.length > 65536) throw new Error('response head larger than 64 KiB');
        return 0;
      }
      this.#headBuf = null;
      const headers = buf.toString('latin1', 0, idx);
      const status = Number(headers.slice(9, 12));
      const coding = /\r\ncontent-encoding:[ \t]*([^\r]*)/i.exec(headers)?.[1]?.trim().toLowerCase();
      this.head = { status, chunked: /\r\ntransfer-encoding:[^\r]*chunked/i.test(headers), contentEncoding: coding, headers };
      p = idx + 4;
    }
    const len = buf.length;
    const bodyBytes = len - p;
    const sink = this.#body;
    if (sink === null || p >= len) return bodyBytes;
    if (!this.head.chunked) {
      sink(buf, p, len);
      return bodyBytes;
    }
    while (p < len && !this.ended) {
      if (this.#state === 0) {
        while (p < len) {
          const c = buf[p++]!;
          if (c === 0x0a) {
            if (this.#sizeDigits === 0) throw new Error('chunk size line without digits');
            if (this.#size === 0) this.ended = true;
            else {
              this.#left = this.#size;
              this.#state = 1;
            }
            this.#size = 0;
            this.#sizeDigits = 0;
            this.#sizeDone = false;
            break;
          }
          if (this.#sizeDone) continue;
          const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
          if (v < 0) this.#sizeDone = true;
          else {
            this.#size = this.#size * 16 + v;
            this.#sizeDigits++;
          }
        }
      } else if (this.#state === 1) {
        const take = Math.min(this.#left, len - p);
        sink(buf, p, p + take);
        this.#left -= take;
        p += take;
        if (this.#left === 0) {
          this.#state = 2;
          this.#left = 2;
        }
      } else {
        const take = Math.min(this.#left, len - p);
        this.#left -= take;
        p += take;
        if (this.#left === 0) this.#state = 0;
      }
    }
    return bodyBytes;
  }
}
