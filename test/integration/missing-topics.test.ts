/**
 * Streams whose configured topics do not all exist in Kafka (e.g. one data centre's topic not
 * created yet): the existing ones are served, and only when none exists is the answer `no_topics`.
 */
import { describe, expect, it } from 'vitest';
import { rcEvent } from '../support/events.ts';
import { produceJson, testBrokers, uniqueTopic, uniqueTopicName } from '../support/kafka.ts';
import { startTestService } from '../support/service.ts';
import { getJson, openRaw } from '../support/sse.ts';

describe('topics missing from Kafka', () => {
  it('a stream with one missing topic serves the other', async () => {
    const present = await uniqueTopic('eqiad.present', 1);
    const missing = uniqueTopicName('codfw.missing');
    const svc = await startTestService({ half: { topics: [present, missing] } });
    const client = await openRaw(`${svc.url}/v2/stream/half`);
    try {
      expect(client.status).toBe(200);
      expect(JSON.parse(String(client.headers['eventstreams-start-positions']))).toEqual([{ topic: present, partition: 0, offset: 0 }]);
      await client.until((s) => s.text().startsWith(':ok'));
      await produceJson(testBrokers(), present, [{ value: rcEvent(0, { seq: 0 }) }]);
      await client.until((s) => s.messages().length >= 1);
      expect(client.messages()[0]?.data.meta).toMatchObject({ topic: present, offset: 0 });
    } finally {
      client.close();
      await svc.stop();
    }
  });

  it('a stream none of whose topics exist is answered 503 no_topics (event-stream clients: a retry stream), not kafka_unavailable', async () => {
    const svc = await startTestService({ none: { topics: [uniqueTopicName('eqiad.none'), uniqueTopicName('codfw.none')] } });
    try {
      const answer = await getJson(`${svc.url}/v2/stream/none`);
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ type: 'no_topics' });
      expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
      // Event-stream clients would give up on the 503: they get a stream that tells them to come back.
      const sse = await fetch(`${svc.url}/v2/stream/none`, { headers: { accept: 'text/event-stream' } });
      expect(sse.status).toBe(200);
      expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(await sse.text()).toMatch(/^:no_topics: None of the topics .+\n\nretry: \d+\n\n$/);
      // A client that reads problem bodies (the web UI) says so, and gets the problem.
      const reader = await getJson(`${svc.url}/v2/stream/none`, { accept: 'text/event-stream, application/problem+json' });
      expect(reader.status).toBe(503);
      expect(reader.body).toMatchObject({ type: 'no_topics' });
    } finally {
      await svc.stop();
    }
  });
});
