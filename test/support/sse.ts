/** A raw HTTP reader for the streaming endpoint: sees exact bytes, headers and SSE blocks. */
import http from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { SseBlocks, SseParser, type SseBlock } from '../../bench/lib/sse-parser.ts';

export interface RawStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Every byte received so far, as text. */
  text(): string;
  /** Parsed SSE blocks received so far. */
  blocks(): SseBlock[];
  /** Message events (data parsed) received so far. */
  messages(): { id: unknown; data: Record<string, unknown> }[];
  /** Waits until `predicate` holds over what was received; rejects after `timeoutMs`. */
  until(predicate: (s: RawStream) => boolean, timeoutMs?: number): Promise<void>;
  /** Resolves when the server ends the response. */
  ended: Promise<void>;
  /** Stops reading (the socket fills up and the server sees a slow client) until `resume()`. */
  pause(): void;
  resume(): void;
  close(): void;
}

export function openRaw(url: string, headers: Record<string, string> = {}): Promise<RawStream> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers }, (response) => {
      let text = '';
      const decoder = new StringDecoder('utf8');
      const received = new SseBlocks();
      const parser = new SseParser(received);
      const waiters = new Set<() => void>();
      response.on('data', (chunk: Buffer) => {
        text += decoder.write(chunk);
        parser.push(chunk);
        for (const w of waiters) w();
      });
      const ended = new Promise<void>((done) => {
        response.on('end', () => done());
        response.on('close', () => done());
      });
      const stream: RawStream = {
        status: response.statusCode ?? 0,
        headers: response.headers,
        text: () => text,
        blocks: () => [...received.blocks],
        messages: () =>
          received.blocks
            .filter((b) => b.event === 'message')
            .map((b) => ({ id: JSON.parse(b.id ?? 'null'), data: JSON.parse(b.data ?? '{}') })),
        until(predicate, timeoutMs = 15_000) {
          return new Promise((ok, fail) => {
            const check = () => {
              if (predicate(stream)) {
                waiters.delete(check);
                clearTimeout(timer);
                ok();
              }
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`timed out; received so far:\n${text.slice(-2000)}`));
            }, timeoutMs);
            waiters.add(check);
            void ended.then(check);
            check();
          });
        },
        ended,
        pause: () => response.pause(),
        resume: () => response.resume(),
        close: () => request.destroy(),
      };
      resolve(stream);
    });
    request.on('error', reject);
  });
}

/** GET with a JSON (or text) answer. */
export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: unknown }> {
  const response = await fetch(url, { headers, redirect: 'manual' });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body };
}

/** Where a stream request with this Last-Event-ID would start each partition (the start-positions header). */
export async function startPositions(url: string, lastEventId: string): Promise<{ topic: string; partition: number; offset: number }[]> {
  const response = await fetch(url, { headers: { 'last-event-id': lastEventId } });
  const header = response.headers.get('eventstreams-start-positions');
  await response.body?.cancel();
  if (header === null) throw new Error(`no start positions: HTTP ${response.status}`);
  return JSON.parse(header) as { topic: string; partition: number; offset: number }[];
}
