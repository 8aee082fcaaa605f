/// <reference lib="dom" />
// Callbacks passed to page.evaluate/waitForFunction run in the page: they use DOM types.
/**
 * The browser's own EventSource against a filtered stream: it keeps the id of the id-only blocks the
 * server sends while its filter skips events, and resumes from there when the server ends the stream.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.ts';
import { launchBrowser, type Browser } from '../support/browser.ts';
import { rcEvent } from '../support/events.ts';
import { produceJson, testBrokers, uniqueTopic } from '../support/kafka.ts';
import { startTestService } from '../support/service.ts';
import { startPositions } from '../support/sse.ts';

let service: RunningService;
let browser: Browser;
let topic: string;

beforeAll(async () => {
  topic = await uniqueTopic('eqiad.browser.rc', 2);
  service = await startTestService(
    { 'mediawiki.recentchange': { topics: [topic], stream_aliases: ['recentchange'], schema_title: 'mediawiki/recentchange' } },
    {
      heartbeat_interval: 200,
      schema_base_uris: [fileURLToPath(new URL('../../config/schemas', import.meta.url))],
      // The server ends every stream after 3 s, so the browser reconnects with the id it holds.
      connections: { max_duration: 3, max_duration_jitter: 0, reconnect_delay_ms: 100 },
    },
  );
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

it('browser EventSource keeps the id of id-only blocks and resumes after everything its filter skipped', async () => {
  const page = browser.page;
  const sent: (string | undefined)[] = [];
  page.on('request', (request) => {
    // allHeaders: the ones the network stack adds too, as Last-Event-ID on a reconnect.
    if (request.url().includes('/v2/stream/')) void request.allHeaders().then((headers) => sent.push(headers['last-event-id']));
  });
  await page.goto(`${service.url}/robots.txt`);
  await page.evaluate(() => {
    const w = window as unknown as { received: string[]; source: EventSource };
    w.received = [];
    w.source = new EventSource('/v2/stream/recentchange?wiki=enwiki');
    w.source.onmessage = (e) => w.received.push((JSON.parse(e.data) as { wiki: string }).wiki);
  });
  await page.waitForFunction(() => (window as unknown as { source: EventSource }).source.readyState === 1);
  const events = Array.from({ length: 100 }, (_, i) => rcEvent(i));
  const produced = await produceJson(testBrokers(), topic, events.map((value, i) => ({ value, partition: i % 2 })));

  const deadline = Date.now() + 20_000;
  while (sent.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  expect(sent[0]).toBeUndefined();
  expect(sent[1]).toBeDefined();
  // The reconnect resumes each partition right after its last event, not after its last enwiki event.
  const starts = await startPositions(`${service.url}/v2/stream/recentchange?wiki=enwiki`, sent[1] as string);
  for (const start of starts) {
    const last = Math.max(...produced.filter((p) => p.partition === start.partition).map((p) => Number(p.offset)));
    expect(start.offset, `partition ${start.partition}`).toBe(last + 1);
  }
  const received = await page.evaluate(() => (window as unknown as { received: string[] }).received);
  // No event was dispatched for the id-only blocks.
  expect(received).toEqual(events.filter((e) => e.wiki === 'enwiki').map(() => 'enwiki'));
  await page.evaluate(() => (window as unknown as { source: EventSource }).source.close());
});
