/**
 * HTTP/1.1 over a bare socket, for requests no HTTP client sends (oversized or malformed request
 * lines and headers). A response with a length is read whole; a stream (chunked) until its first
 * bytes; a HEAD answer until its head.
 */
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  /** The body, or a stream's first bytes (chunk framing left in). */
  body: string;
}

/** A GET of `target` (sent as is) with these headers, as raw text. */
export function getRequest(target: string, headers: Record<string, string> = {}): string {
  const lines = Object.entries({ host: 'localhost', ...headers }).map(([name, value]) => `${name}: ${value}`);
  return `GET ${target} HTTP/1.1\r\n${lines.join('\r\n')}\r\nconnection: close\r\n\r\n`;
}

/** Sends `request` to the server of `baseUrl`; rejects when the connection closes without a response head. */
export function rawRequest(baseUrl: string, text: string | Buffer): Promise<RawResponse> {
  const request = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const { hostname, port } = new URL(baseUrl);
  const head = request.subarray(0, 5).toString('latin1') === 'HEAD ';
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = Buffer.alloc(0);
    let response: RawResponse | undefined;
    let bodyStart = 0;
    let length: number | undefined;
    const finish = () => {
      socket.destroy();
      if (response === undefined) reject(new Error(`connection closed without a response (${received.length} bytes)`));
      else resolve({ ...response, body: received.subarray(bodyStart).toString('utf8') });
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (response === undefined) {
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        const [statusLine = '', ...headerLines] = received.subarray(0, end).toString('latin1').split('\r\n');
        const headers: Record<string, string> = {};
        for (const line of headerLines) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const status = Number(statusLine.split(' ')[1]);
        // An interim answer (100 Continue) precedes the real one.
        if (status >= 100 && status < 200) {
          received = received.subarray(end + 4);
          continue;
        }
        response = { status, headers, body: '' };
        bodyStart = end + 4;
        length = head ? 0 : headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
      }
      const bodyBytes = received.length - bodyStart;
      if (length !== undefined ? bodyBytes >= length : bodyBytes > 0) finish();
    });
    // A server that refuses a huge request may stop reading it: the answer is what counts.
    socket.on('error', () => undefined);
    socket.on('close', finish);
    socket.setTimeout(20_000, () => socket.destroy());
    socket.write(request);
  });
}
