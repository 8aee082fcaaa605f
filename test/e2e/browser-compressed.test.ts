/// <reference lib="dom" />
// Callbacks passed to page.evaluate/waitForFunction run in the page: they use DOM types.
/**
 * Chromium's own EventSource over compressed streams (Chromium asks for `gzip, deflate, br, zstd`):
 * gzip (the service's first choice), deflate and zstd (the service offering only that one). The
 * page's `new EventSource(url)` is served a compressed body and resumes exactly, with no gap and
 * no duplicate, after the server ends its stream cleanly (maximum duration: retry advice, then the
 * coding's trailer) and after every connection is cut under it (no trailer), while events keep
 * being produced.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page, Request } from 'playwright-core';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.ts';
import { launchBrowser, type Browser } from '../support/browser.ts';
import { rcEvent } from '../support/events.ts';
import { keepProducing, uniqueTopic, type ProducedSeq } from '../support/kafka.ts';
import { cutAllConnections, startTestService } from '../support/service.ts';

type Received = ProducedSeq;

/** One request of the page's EventSource, as the browser's network stack saw it. */
interface StreamRequest {
  lastEventId: string | undefined;
  acceptEncoding: string | undefined;
  status?: number;
  contentEncoding?: string | undefined;
  /** `finished` (the whole body read), or the network error it failed with; undefined while open. */
  outcome?: string;
}

type LogLine = Record<string, unknown> & { msg: string };

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

/** Records every request of the page to the stream: its headers, its response's, how it ended. */
function watchStreamRequests(page: Page): StreamRequest[] {
  const requests: StreamRequest[] = [];
  const byRequest = new Map<Request, StreamRequest>();
  const isStream = (request: Request) => request.url().includes('/v2/stream/');
  page.on('request', (request) => {
    if (!isStream(request)) return;
    const entry: StreamRequest = { lastEventId: undefined, acceptEncoding: undefined };
    requests.push(entry);
    byRequest.set(request, entry);
    // allHeaders: also the ones the network stack adds (Accept-Encoding, Last-Event-ID).
    void request.allHeaders().then((headers) => {
      entry.lastEventId = headers['last-event-id'];
      entry.acceptEncoding = headers['accept-encoding'];
    });
  });
  page.on('response', (response) => {
    const entry = byRequest.get(response.request());
    if (entry === undefined) return;
    entry.status = response.status();
    void response.allHeaders().then((headers) => (entry.contentEncoding = headers['content-encoding']));
  });
  page.on('requestfinished', (request) => {
    const entry = byRequest.get(request);
    if (entry !== undefined) entry.outcome ??= 'finished';
  });
  page.on('requestfailed', (request) => {
    const entry = byRequest.get(request);
    if (entry !== undefined) entry.outcome ??= request.failure()?.errorText ?? 'failed';
  });
  return requests;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const CASES = [
  { coding: 'gzip', codings: undefined },
  { coding: 'deflate', codings: ['deflate'] },
  { coding: 'zstd', codings: ['zstd'] },
] as const;

describe.each(CASES)('browser EventSource over $coding', ({ coding, codings }) => {
  let service: RunningService;
  let topic: string;
  let createdAt: number;
  const log: LogLine[] = [];

  beforeAll(async () => {
    createdAt = Date.now();
    topic = await uniqueTopic(`eqiad.browser.${coding}`, 2);
    service = await startTestService(
      { compressed: { topics: [topic] } },
      {
        heartbeat_interval: 500,
        // The server ends every stream after 3 s: the browser reconnects with the id it holds.
        connections: { max_duration: 3, max_duration_jitter: 0, reconnect_delay_ms: 100 },
        ...(codings !== undefined ? { compression: { codings } } : {}),
      },
      pino({ level: 'info' }, { write: (line: string) => void log.push(JSON.parse(line) as LogLine) }),
    );
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
  });

  it(`receives a ${coding} body and resumes exactly after a clean end and after a cut connection`, async () => {
    const page = await browser.context.newPage();
    const requests = watchStreamRequests(page);
    const received = () => page.evaluate(() => (window as unknown as { received: Received[] }).received.length);
    try {
      await page.goto(`${service.url}/robots.txt`);
      // From the topic's start: a stream that ends before its first event gives the browser no id to
      // come back with, and the reconnect must not start at the then end of the topic.
      await page.evaluate((since) => {
        const w = window as unknown as { received: Received[]; source: EventSource };
        w.received = [];
        w.source = new EventSource(`/v2/stream/compressed?since=${since}`);
        w.source.onmessage = (e) => {
          const event = JSON.parse(e.data) as { seq: number; meta: { partition: number; offset: number } };
          w.received.push({ seq: event.seq, partition: event.meta.partition, offset: event.meta.offset });
        };
      }, createdAt);
      await page.waitForFunction(() => (window as unknown as { source: EventSource }).source.readyState === 1);
      const producer = keepProducing(topic, 2, (seq) => rcEvent(seq, { seq }));
      let produced: Received[] = [];
      try {
        // The first stream ends at its maximum duration, cleanly; the browser reconnects and events flow again.
        await until(() => log.some((l) => l.msg === 'stream closed' && l.reason === 'max_duration'), 'a stream ended at its maximum duration');
        await until(() => requests.length >= 2 && requests[1]!.status === 200, 'the reconnect after the clean end');
        let before = await received();
        await until(async () => (await received()) > before, 'events after the clean end');

        // Every connection cut by the server, mid-body: no trailer, no retry advice.
        const requestsBeforeCut = requests.length;
        cutAllConnections(service);
        await until(() => requests.length > requestsBeforeCut && requests.at(-1)!.status === 200, 'the reconnect after the cut');
        before = await received();
        await until(async () => (await received()) > before + 8, 'events after the cut');
      } finally {
        produced = await producer.stop();
      }
      await until(async () => (await received()) >= produced.length, `all ${produced.length} events`);
      await sleep(300);
      const got = await page.evaluate(() => (window as unknown as { received: Received[] }).received);
      // Closed, so that every request of the page has ended (the open one aborted) before it is checked.
      await page.evaluate(() => (window as unknown as { source: EventSource }).source.close());
      await until(() => requests.every((r) => r.outcome !== undefined), 'the stream requests to end');

      // No gap, no duplicate: every event produced, once, each partition in offset order.
      expect([...got].sort((a, b) => a.seq - b.seq)).toEqual(produced);
      for (const partition of [0, 1]) {
        const offsets = got.filter((e) => e.partition === partition).map((e) => e.offset);
        expect(offsets, `partition ${partition}`).toEqual(produced.filter((e) => e.partition === partition).map((e) => e.offset));
      }

      // Every stream the browser was answered with was compressed as negotiated, and decoded:
      // each body ended either complete (the clean ends) or cut by the network, never by a
      // decoding failure. (A reconnect the close cancelled before its answer has no response.)
      const answered = requests.filter((r) => r.status !== undefined);
      expect(answered.length).toBeGreaterThanOrEqual(3);
      expect(requests.slice(0, -1).every((r) => r.status !== undefined)).toBe(true);
      expect(answered[0]!.lastEventId).toBeUndefined();
      // The reconnect after the cut came back with the id of the last event received.
      expect(answered.at(-1)!.lastEventId).toBeDefined();
      for (const request of answered) {
        expect(request.acceptEncoding).toBe('gzip, deflate, br, zstd');
        expect(request.status).toBe(200);
        expect(request.contentEncoding).toBe(coding);
      }
      // The last answered one was still open when the page closed it.
      const outcomes = answered.slice(0, -1).map((r) => r.outcome);
      expect(outcomes.filter((o) => o === 'finished').length).toBeGreaterThanOrEqual(1);
      expect(outcomes.filter((o) => o !== 'finished')).toEqual([expect.stringMatching(/^net::ERR_(INCOMPLETE_CHUNKED_ENCODING|CONNECTION_RESET|EMPTY_RESPONSE|CONNECTION_CLOSED)$/)]);
      // The service's side: every stream of the page opened with the coding.
      const opened = log.filter((l) => l.msg === 'stream opened');
      expect(opened.length).toBeGreaterThanOrEqual(answered.length);
      expect(opened.map((l) => l.coding)).toEqual(opened.map(() => coding));

      // The page's own view of its streams: fewer bytes on the wire than it decoded.
      const sizes = await page.evaluate(() =>
        performance
          .getEntriesByType('resource')
          .filter((e) => e.name.includes('/v2/stream/'))
          .map((e) => ({ encoded: (e as PerformanceResourceTiming).encodedBodySize, decoded: (e as PerformanceResourceTiming).decodedBodySize })),
      );
      const withBody = sizes.filter((s) => s.decoded > 0);
      expect(withBody.length).toBeGreaterThanOrEqual(2);
      for (const { encoded, decoded } of withBody) expect(encoded).toBeLessThan(decoded);
    } finally {
      await page.close();
    }
  });
});
