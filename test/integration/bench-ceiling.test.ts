/**
 * The fan-out benchmark's ceiling (bench/lib/ceiling-frames.ts) sends the very bytes the running
 * service sends for the bench events: a live client of the real service, over Kafka, gets frames
 * equal to the ceiling's for the same events in the same order (ids with `ts_seen`, meta splice).
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchValue, loadTemplates } from '../../bench/lib/bench-events.ts';
import { CeilingFrames } from '../../bench/lib/ceiling-frames.ts';
import type { RunningService } from '../../src/service.ts';
import { produceJson, testBrokers, uniqueTopic } from '../support/kafka.ts';
import { startTestService } from '../support/service.ts';
import { waitFor } from '../support/sse-clients.ts';

const EVENTS = 60;
const templates = loadTemplates();
let topics: string[];
let service: RunningService;

beforeAll(async () => {
  topics = [await uniqueTopic('eqiad.bench.rc'), await uniqueTopic('codfw.bench.rc')];
  service = await startTestService({ benchrc: { topics } }, { heartbeat_interval: 600_000, connections: { max_duration: 0 } });
});

afterAll(async () => {
  await service?.stop();
});

describe('the fan-out ceiling', () => {
  it('frames the bench events exactly as the service sends them to a live client', async () => {
    let text = '';
    const request = http.get(`${service.url}/v2/stream/benchrc`, { headers: { accept: 'text/event-stream' } }, (response) => {
      response.setEncoding('utf8');
      response.on('data', (d: string) => (text += d));
    });
    try {
      await waitFor(() => text.startsWith(':ok'), 'the stream opening');
      // As the bench producer: seq k to topic k % 2, ticks of 1 to 3 events sharing their timestamp.
      const t0 = Date.now();
      for (let seq = 0, tick = 0; seq < EVENTS; tick++) {
        const batch: { seq: number; t: number }[] = [];
        for (let i = 0; i < 1 + (tick % 3) && seq < EVENTS; i++) batch.push({ seq: seq++, t: t0 + 10 * tick });
        for (const [index, topic] of topics.entries()) {
          const mine = batch.filter((e) => e.seq % 2 === index);
          if (mine.length > 0) await produceJson(testBrokers(), topic, mine.map((e) => ({ value: benchValue(templates, e.seq, e.t), timestamp: e.t })));
        }
      }
      const messages = (): string[] => text.split('\n\n').filter((b) => b.startsWith('event: message'));
      await waitFor(() => messages().length >= EVENTS, `${EVENTS} events`);
      const ceiling = new CeilingFrames(templates, topics);
      let same = 0;
      for (const block of messages()) {
        const data = JSON.parse(block.slice(block.indexOf('\ndata: ') + 7)) as { bench: { seq: number; sent_ms: number } };
        expect(`${block}\n\n`).toBe(ceiling.event(data.bench.seq, data.bench.sent_ms).toString());
        same++;
      }
      expect(same).toBe(EVENTS);
    } finally {
      request.destroy();
    }
  });
});
