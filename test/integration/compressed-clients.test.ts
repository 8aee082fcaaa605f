/**
 * npm `eventsource` (undici decodes the body) and python `requests-sse` (urllib3 decodes it) over
 * compressed streams, while events keep being produced: streams that end cleanly at their maximum
 * duration (retry advice, then the coding's trailer, which both libraries check: gzip's CRC-32 and
 * length, zlib's Adler-32) and streams cut under them (every connection destroyed: no trailer).
 * Each body decodes to its end, complete or cut, never failing to decode, and every client
 * resumes exactly.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.ts';
import { rcEvent } from '../support/events.ts';
import { keepProducing, uniqueTopic, type ProducedSeq } from '../support/kafka.ts';
import { cutAllConnections, startTestService } from '../support/service.ts';
import { CUT_BODY_ENDS, OWN_USER_AGENT, startEventSource, startRequestsSse, waitFor, type ReconnectingClient } from '../support/sse-clients.ts';

const PARTITIONS = 2;

let service: RunningService;
let topic: string;
let createdAt: number;
const log: Record<string, unknown>[] = [];

beforeAll(async () => {
  createdAt = Date.now();
  topic = await uniqueTopic('eqiad.compressed.clients', PARTITIONS);
  service = await startTestService(
    { compressed: { topics: [topic] } },
    // Every stream ends cleanly after 2 s; the clients reconnect with their ids.
    { heartbeat_interval: 500, connections: { max_duration: 2, max_duration_jitter: 0, reconnect_delay_ms: 100 } },
    pino({ level: 'info' }, { write: (line: string) => void log.push(JSON.parse(line) as Record<string, unknown>) }),
  );
}, 120_000);

afterAll(async () => {
  await service?.stop();
});

it('npm eventsource and requests-sse decode gzip, deflate and zstd bodies to their end and resume exactly', async () => {
  // From the topic's start: a stream that ends before its first event gives its client no id to
  // come back with, and the reconnect must not start at the then end of the topic.
  const url = `${service.url}/v2/stream/compressed?since=${createdAt}`;
  const clients: { name: string; coding: string; client: ReconnectingClient }[] = [
    // Undici's own Accept-Encoding (gzip, deflate): the service's first choice.
    { name: 'npm eventsource', coding: 'gzip', client: startEventSource(url) },
    { name: 'npm eventsource, deflate', coding: 'deflate', client: startEventSource(url, { acceptEncoding: 'deflate' }) },
    { name: 'npm eventsource, zstd', coding: 'zstd', client: startEventSource(url, { acceptEncoding: 'zstd' }) },
    // requests' own (gzip, deflate), with a User-Agent of its own as pywikibot sends.
    { name: 'requests-sse', coding: 'gzip', client: startRequestsSse(url, 0, { userAgent: OWN_USER_AGENT }) },
    { name: 'requests-sse, deflate', coding: 'deflate', client: startRequestsSse(url, 0, { acceptEncoding: 'deflate', userAgent: OWN_USER_AGENT }) },
    // requests' own User-Agent: identity, as sseclient (which reads the body raw) needs it.
    { name: 'requests-sse, python-requests User-Agent', coding: 'identity', client: startRequestsSse(url) },
  ];
  let produced: ProducedSeq[] = [];
  try {
    await waitFor(() => service.sessions.size === clients.length, 'every client streaming');
    const producer = keepProducing(topic, PARTITIONS, (seq) => rcEvent(seq, { seq }));
    try {
      // Each client's first stream ends cleanly and it reconnects.
      await waitFor(() => clients.every((c) => c.client.attempts()[0]?.ended !== undefined && c.client.attempts().length >= 2), 'the clean ends and reconnects', 20_000);
      await sleep(500);
      // Every connection cut by the server, mid-body. A client that was between two streams (one
      // ended at its maximum duration) at the cut is cut again: every client's body gets cut once.
      const wasCut = (c: (typeof clients)[number]) => c.client.attempts().some((a) => a.ended !== undefined && a.ended !== 'end');
      for (let round = 0; round < 5 && !clients.every(wasCut); round++) {
        const before = clients.map((c) => c.client.attempts().length);
        cutAllConnections(service);
        await waitFor(() => clients.every((c, i) => c.client.attempts().length > before[i]!), 'the reconnects after the cut', 20_000);
        await sleep(500);
      }
      await sleep(500);
    } finally {
      produced = await producer.stop();
    }
    await waitFor(() => clients.every((c) => c.client.metas().length >= produced.length), `all ${produced.length} events`, 20_000);
    await sleep(300);

    const expected = (partition: number) => produced.filter((p) => p.partition === partition).map((p) => p.offset);
    for (const { name, coding, client } of clients) {
      // No gap, no duplicate, in order per partition.
      for (let partition = 0; partition < PARTITIONS; partition++) {
        expect(client.metas().filter((m) => m.partition === partition).map((m) => m.offset), `${name}: partition ${partition}`).toEqual(expected(partition));
      }
      const attempts = client.attempts();
      expect(attempts[0]?.lastEventId, name).toBeNull();
      // The reconnect after the cut came back with the id of the last event received.
      expect(attempts.at(-1)?.lastEventId, name).not.toBeNull();
      expect(attempts.map((a) => [a.status, a.contentEncoding ?? 'identity']), name).toEqual(attempts.map(() => [200, coding]));
      // Every body ended complete (its trailer checked) or cut, never failing to decode; at least
      // one was cut. Only the last may still be being read (or its stream just ended at its maximum duration).
      expect(attempts.slice(0, -1).map((a) => a.ended ?? 'still open'), name).not.toContain('still open');
      const ends = attempts.flatMap((a) => (a.ended === undefined ? [] : [a.ended]));
      expect(ends.filter((e) => e !== 'end' && !CUT_BODY_ENDS.some((cut) => cut.test(e))), name).toEqual([]);
      expect(ends.filter((e) => e === 'end').length, name).toBeGreaterThanOrEqual(1);
      expect(ends.filter((e) => e !== 'end').length, name).toBeGreaterThanOrEqual(1);
    }
    // The service's side: as many streams opened in each coding as the clients were answered with.
    const opened = log.filter((l) => l.msg === 'stream opened').map((l) => l.coding);
    expect(opened.sort()).toEqual(clients.flatMap((c) => c.client.attempts().map(() => c.coding)).sort());
    expect(log.filter((l) => l.msg === 'stream closed' && l.reason === 'max_duration').length).toBeGreaterThanOrEqual(clients.length);
  } finally {
    for (const { client } of clients) client.close();
  }
});
