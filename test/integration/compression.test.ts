/**
 * Compressed streams decode to exactly the identity stream, byte for byte: for clients starting at
 * different positions (history and live, joining while events flow), through a clean end (the
 * trailer's checksum and length are checked) and through a cut connection (no trailer).
 */
import http from 'node:http';
import { constants, gunzipSync, inflateSync, zstdDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContentCoding } from '../../src/protocol/content-coding.ts';
import type { RunningService } from '../../src/service.ts';
import { rcEvent } from '../support/events.ts';
import { produceJson, testBrokers, uniqueTopic } from '../support/kafka.ts';
import { cutAllConnections, startTestService } from '../support/service.ts';
import { waitFor } from '../support/sse-clients.ts';

const CODINGS: ContentCoding[] = ['identity', 'gzip', 'deflate', 'zstd'];
const HISTORY = 120;
const T0 = Date.now() - 3_600_000;

let topic: string;
/** History is read from one partition here: across partitions, two readers may interleave differently (each order exact). */
let single: string;
let ending: RunningService;
let endless: RunningService;

beforeAll(async () => {
  topic = await uniqueTopic('eqiad.compressed', 2);
  await produceJson(testBrokers(), topic, Array.from({ length: HISTORY }, (_, i) => ({ partition: i % 2, value: rcEvent(i, { seq: i }), timestamp: T0 + i * 10 })));
  single = await uniqueTopic('eqiad.compressed-single', 1);
  await produceJson(testBrokers(), single, Array.from({ length: HISTORY }, (_, i) => ({ value: rcEvent(i, { seq: i }), timestamp: T0 + i * 10 })));
  const streams = { compressed: { topics: [topic] }, single: { topics: [single] } };
  // Streams that end cleanly after 3 s (a trailer), and streams that only end when cut.
  ending = await startTestService(streams, { heartbeat_interval: 600_000, connections: { max_duration: 3, max_duration_jitter: 0 } });
  endless = await startTestService(streams, { heartbeat_interval: 600_000, connections: { max_duration: 0 } });
});

afterAll(async () => {
  await ending?.stop();
  await endless?.stop();
});

interface RawBody {
  coding: ContentCoding;
  headers: http.IncomingHttpHeaders;
  wire(): Buffer;
  /** The body as the client reads it: decompressed; `complete` checks the trailer. */
  decoded(complete: boolean): string;
  ended: Promise<void>;
  close(): void;
}

/** A client that asks for `coding` and keeps the bytes exactly as they came (no automatic decoding). */
function open(service: RunningService, path: string, coding: ContentCoding, headers: Record<string, string> = {}): Promise<RawBody> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${service.url}/v2/stream/${path}`, { headers: { 'accept-encoding': coding, ...headers } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      const ended = new Promise<void>((done) => response.on('close', () => done()));
      const wire = () => Buffer.concat(chunks);
      resolve({
        coding,
        headers: response.headers,
        wire,
        decoded: (complete) => decode(coding, wire(), complete),
        ended,
        close: () => request.destroy(),
      });
    });
    request.on('error', reject);
  });
}

function decode(coding: ContentCoding, wire: Buffer, complete: boolean): string {
  const partial = complete ? {} : { finishFlush: constants.Z_SYNC_FLUSH };
  if (coding === 'gzip') return gunzipSync(wire, partial).toString();
  if (coding === 'deflate') return inflateSync(wire, partial).toString();
  if (coding === 'zstd') return zstdDecompressSync(wire, complete ? {} : { finishFlush: constants.ZSTD_e_flush }).toString();
  return wire.toString();
}

const messages = (text: string) => text.split('\n\n').filter((block) => block.startsWith('event: message\n'));
/** The server's reconnection advice carries random jitter: the one part of two bodies that differs. */
const withoutRetry = (text: string) => text.replace(/retry: \d+\n\n$/, '');

describe('compressed streams', () => {
  it.each([
    ['the whole history', (): string => `?since=${T0}`, (): Record<string, string> => ({})],
    ['a timestamp in the middle', (): string => `?since=${T0 + 555}`, (): Record<string, string> => ({})],
    ['a Last-Event-ID by offset', (): string => '', (): Record<string, string> => ({ 'last-event-id': JSON.stringify([{ topic: single, partition: 0, offset: 40 }]) })],
  ] as const)('from %s: every coding decodes to the identity bytes, trailer checked at the clean end', async (_, query, headers) => {
    const bodies = await Promise.all(CODINGS.map((coding) => open(ending, `single${query()}`, coding, headers())));
    await Promise.all(bodies.map((b) => b.ended));
    const [identity, ...compressed] = bodies;
    const plain = identity!.decoded(true);
    expect(plain.startsWith(':ok\n\n')).toBe(true);
    expect(plain).toMatch(/retry: \d+\n\n$/);
    expect(messages(plain).length).toBeGreaterThan(20);
    for (const body of compressed) {
      expect(body.headers['content-encoding']).toBe(body.coding);
      expect(body.headers.vary).toContain('accept-encoding');
      expect(withoutRetry(body.decoded(true))).toBe(withoutRetry(plain));
      expect(body.wire().length).toBeLessThan(0.5 * Buffer.byteLength(plain));
    }
    expect(identity!.headers['content-encoding']).toBeUndefined();
    const scrape = await (await fetch(`${ending.url}/metrics`)).text();
    for (const coding of CODINGS) expect(scrape).toMatch(new RegExp(`eventstreams_stream_encodings_total\\{encoding="${coding}"\\} [1-9]`));
    // Every stream of the test ended: their group's history went with them.
    expect(scrape).toMatch(/eventstreams_shared_compression_histories 0/);
    expect(scrape).toMatch(/eventstreams_shared_zstd_streams 0/);
  });

  it('clients joining a live stream at different moments decode to the bytes of an identity client that joined with them, when cut without a trailer', async () => {
    const quads: RawBody[][] = [];
    let seq = HISTORY;
    for (let round = 0; round < 3; round++) {
      // Opened together before anything new is produced: the same start, so the same bytes.
      quads.push(await Promise.all(CODINGS.map((coding) => open(endless, 'compressed', coding))));
      await produceJson(testBrokers(), topic, Array.from({ length: 25 }, () => ({ partition: seq % 2, value: rcEvent(seq, { seq: seq++ }) })));
      await waitFor(() => quads.every((quad, i) => messages(quad[0]!.decoded(false)).length >= 25 * (round + 1 - i)), 'the live events');
    }
    for (const [i, quad] of quads.entries()) await waitFor(() => quad.every((b) => messages(b.decoded(false)).length === 25 * (3 - i)), `round ${i}'s clients`);
    cutAllConnections(endless);
    await Promise.all(quads.flat().map((b) => b.ended));
    for (const [identity, ...compressed] of quads) {
      const plain = identity!.decoded(false);
      for (const body of compressed) {
        expect(body.decoded(false)).toBe(plain);
        if (body.coding !== 'zstd') expect(() => body.decoded(true)).toThrow(); // cut: no trailer
      }
    }
  });

  it('answers HEAD with the coding GET would use, and identity when none acceptable is asked', async () => {
    const head = await fetch(`${ending.url}/v2/stream/compressed`, { method: 'HEAD', headers: { 'accept-encoding': 'br, gzip;q=0.5' } });
    expect([head.status, head.headers.get('content-encoding'), head.headers.get('vary')]).toEqual([200, 'gzip', 'accept, accept-encoding, user-agent']);
    const br = await open(ending, 'compressed', 'br' as ContentCoding);
    expect(br.headers['content-encoding']).toBeUndefined();
    br.close();
  });
});
