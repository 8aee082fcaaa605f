/** The real reconnecting clients users run, driven by tests: npm `eventsource` and python `requests-sse`. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EventSource } from 'eventsource';

export interface EventMeta {
  topic: string;
  partition: number;
  offset: number;
  /** The event's own id (the same in every data centre's copy). */
  id?: string;
}

/** One answered connection attempt of a client. */
export interface Attempt {
  /** The Last-Event-ID it sent (null: none). */
  lastEventId: string | null;
  status: number;
  /** The response's `Content-Encoding` (null: none, identity); the client library decoded the body. */
  contentEncoding: string | null;
  /**
   * How the body ended as the client library read it: undefined while it is being read, `end` for a
   * complete body, else the error reading it ended with (the connection cut, or a body it could not
   * decode); either way the client reconnects by itself.
   */
  ended?: string;
}

export interface ReconnectingClient {
  /** `meta` of every message event received, in order. */
  metas(): EventMeta[];
  /** Every answered connection attempt, in order. */
  attempts(): Attempt[];
  /** True once the client gave up for good (it will not reconnect). */
  gaveUp(): boolean;
  close(): void;
}

export interface ClientOptions {
  /** The `Accept-Encoding` the client sends instead of its library's default. */
  acceptEncoding?: string;
  /** The `User-Agent` the client sends instead of its library's default (python: `python-requests/…`). */
  userAgent?: string;
}

/**
 * A `User-Agent` of its own, as pywikibot sends: requests' own gets identity from the service
 * (`compression.identity_user_agents`, for sseclient), whatever its `Accept-Encoding`.
 */
export const OWN_USER_AGENT = 'eventstreams-tests/1.0 requests-sse';

/** The error a body read ended with, as a line: name, message, and what caused it (undici wraps socket and decoder errors). */
function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let e = error, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    parts.push(`${e.name}${code === undefined ? '' : ` [${code}]`}: ${e.message}`);
  }
  return parts.length > 0 ? parts.join(' <- ') : String(error);
}

/**
 * npm `eventsource`, which reconnects by itself with `Last-Event-ID`. Its fetch is Node's (undici),
 * which sends `Accept-Encoding: gzip, deflate` unless told otherwise and decodes gzip, deflate, br
 * and zstd bodies itself; the body is read through a wrapper that notes how it ended, as
 * `eventsource` reconnects silently on any read error, a decoding error included.
 */
export function startEventSource(url: string, options: ClientOptions = {}): ReconnectingClient {
  const metas: EventMeta[] = [];
  const attempts: Attempt[] = [];
  const es = new EventSource(url, {
    fetch: async (input, init) => {
      const headers = new Headers(init.headers);
      if (options.acceptEncoding !== undefined) headers.set('accept-encoding', options.acceptEncoding);
      const response = await fetch(input, { ...init, headers });
      const attempt: Attempt = { lastEventId: headers.get('last-event-id'), status: response.status, contentEncoding: response.headers.get('content-encoding') };
      attempts.push(attempt);
      const source = response.body?.getReader();
      if (source === undefined) return response;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          try {
            const { done, value } = await source.read();
            if (done) {
              attempt.ended ??= 'end';
              controller.close();
            } else controller.enqueue(value);
          } catch (error) {
            attempt.ended ??= describeError(error);
            controller.error(error);
          }
        },
        cancel(reason) {
          attempt.ended ??= 'cancelled';
          return source.cancel(reason);
        },
      });
      // What eventsource reads of a response.
      return { body, redirected: response.redirected, status: response.status, headers: response.headers, url: response.url };
    },
  });
  es.addEventListener('message', (e) => metas.push((JSON.parse(e.data) as { meta: EventMeta }).meta));
  return {
    metas: () => metas,
    attempts: () => attempts,
    gaveUp: () => es.readyState === EventSource.CLOSED,
    close: () => es.close(),
  };
}

/**
 * python `requests-sse` (what pywikibot's EventStreams is built on), via test/support/requests_sse_client.py.
 * requests sends `Accept-Encoding: gzip, deflate` unless told otherwise and decodes those (urllib3).
 */
export function startRequestsSse(url: string, count = 0, options: ClientOptions = {}): ReconnectingClient {
  const script = fileURLToPath(new URL('requests_sse_client.py', import.meta.url));
  // scripts/provision.sh installs requests-sse there.
  const pythonPath = [fileURLToPath(new URL('../../.tools/python', import.meta.url)), process.env.PYTHONPATH].filter(Boolean).join(':');
  const args = [script, url, String(count), options.acceptEncoding ?? '', options.userAgent ?? ''];
  const child = spawn('python3', args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PYTHONPATH: pythonPath } });
  const lines: Record<string, unknown>[] = [];
  let exited = false;
  child.once('exit', () => (exited = true));
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  return {
    metas: () => lines.filter((l) => 'meta' in l).map((l) => l.meta as EventMeta),
    attempts: () => {
      const attempts: Attempt[] = [];
      for (const l of lines) {
        if ('connect' in l) attempts.push({ lastEventId: l.connect as string | null, status: Number(l.status), contentEncoding: (l.encoding as string | null) ?? null });
        else if ('ended' in l && attempts.length > 0) attempts[attempts.length - 1]!.ended = l.ended as string;
      }
      return attempts;
    },
    gaveUp: () => exited && (count === 0 || lines.filter((l) => 'meta' in l).length < count),
    close: () => child.kill(),
  };
}

export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * How a body read ends when its connection is cut mid-body (the service killed, the network cut),
 * per client library. Streams are sent with `Connection: close`, so undici may see the cut as an
 * end of the connection inside the chunked body rather than as the other side closing.
 */
export const CUT_BODY_ENDS = [
  /^TypeError: terminated <- SocketError \[UND_ERR_SOCKET\]: other side closed$/,
  /^TypeError: terminated <- HTTPParserError: Response does not match the HTTP\/1\.1 protocol \(Invalid EOF state\)$/,
  // urllib3, through requests.
  /^ChunkedEncodingError: /,
];
