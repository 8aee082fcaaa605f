/**
 * Kafka is down when the service starts and when clients connect: the service starts anyway, is not
 * ready, answers stream requests with something the common clients retry (npm `eventsource` and
 * python `requests-sse` give up for good on any non-200), and they stream once Kafka is back,
 * from the position they asked for.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTopics } from '../../src/kafka/admin.ts';
import type { RunningService } from '../../src/service.ts';
import { rcEvent } from '../support/events.ts';
import { recordFigures } from '../support/fault-figures.ts';
import { metric } from '../support/metrics.ts';
import { produceRetrying, startOwnBroker, type OwnBroker } from '../support/own-broker.ts';
import { startEventSource, startRequestsSse, waitFor, type ReconnectingClient } from '../support/sse-clients.ts';
import { startTestService } from '../support/service.ts';
import { getJson } from '../support/sse.ts';
import { checkDelivered, partitionEnds } from './delivery.ts';

const TOPIC = 'eqiad.kafka-down';
const PARTITIONS = 2;
const EVENTS = 20;

let broker: OwnBroker;
let service: RunningService | undefined;

beforeAll(async () => {
  broker = await startOwnBroker('kafka-down');
  await ensureTopics(broker.brokers, [{ name: TOPIC, partitions: PARTITIONS }]);
});

afterAll(async () => {
  await service?.stop();
  await broker?.remove();
});

const produce = (from: number) =>
  produceRetrying(broker.brokers, TOPIC, Array.from({ length: EVENTS }, (_, i) => ({ partition: i % PARTITIONS, value: rcEvent(from + i, { seq: from + i }) })));

describe('Kafka down at start and at connect', () => {
  it('starts unready, tells stream clients to retry, and npm eventsource and requests-sse stream once Kafka is back', async () => {
    const since = Date.now() - 1000;
    await produce(0);
    await broker.stop();

    const started = Date.now();
    service = await startTestService({ down: { topics: [TOPIC] } }, { kafka: { brokers: broker.brokers, request_timeout_ms: 2000 }, connections: { reconnect_delay_ms: 500 } });
    const startMs = Date.now() - started;
    const url = `${service.url}/v2/stream/down?since=${since}`;
    expect((await getJson(`${service.url}/_ready`)).status).toBe(503);

    // curl and scripts: the 503 problem with Retry-After.
    const plain = await getJson(url);
    expect(plain.status).toBe(503);
    expect(plain.body).toMatchObject({ type: 'kafka_unavailable', status: 503 });
    expect(plain.headers.get('retry-after')).toMatch(/^\d+$/);
    // Event-stream clients: a 200 stream that says why, advises when to retry, and ends.
    const sse = await fetch(url, { headers: { accept: 'text/event-stream' } });
    expect(sse.status).toBe(200);
    expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(await sse.text()).toMatch(/^:kafka_unavailable: .+\n\nretry: \d+\n\n$/);

    const clients: Record<string, ReconnectingClient> = { 'npm eventsource': startEventSource(url), 'python requests-sse': startRequestsSse(url) };
    try {
      for (const client of Object.values(clients)) await waitFor(() => client.attempts().length >= 2, 'two refused attempts');
      await sleep(2000);
      for (const [name, client] of Object.entries(clients)) {
        expect(client.gaveUp(), name).toBe(false);
        expect(client.metas(), name).toEqual([]);
      }
      expect(await metric(service.url, 'eventstreams_rejected_requests_total', { status: '503' })).toBeGreaterThanOrEqual(4);

      await broker.restart();
      const up = Date.now();
      await expect.poll(async () => (await getJson(`${service!.url}/_ready`)).status, { timeout: 30_000, interval: 250 }).toBe(200);
      await produce(EVENTS);
      const ends = await partitionEnds(broker.brokers, TOPIC, PARTITIONS);
      const streaming: Record<string, number> = {};
      for (const [name, client] of Object.entries(clients)) {
        await waitFor(() => client.metas().length >= 2 * EVENTS, `${name}: every event`, 60_000);
        streaming[name] = Date.now() - up;
      }
      await sleep(500);
      for (const [name, client] of Object.entries(clients)) {
        // From `since`: the events produced before the outage and after it, once each, in order.
        checkDelivered(client.metas(), new Map([[0, 0], [1, 0]]), ends);
        expect(client.attempts().every((a) => a.status === 200), name).toBe(true);
      }
      recordFigures('kafka-down', 'Kafka down when the service starts and when clients connect', {
        'service start with Kafka down, ms': startMs,
        'readiness while down': 503,
        'answer to curl-like requests while down': '503 kafka_unavailable + Retry-After',
        'answer to text/event-stream requests while down': '200, comment + retry: <reconnect_delay_ms..2x>, end',
        'npm eventsource attempts before Kafka was back': clients['npm eventsource']!.attempts().length - 1,
        'requests-sse attempts before Kafka was back': clients['python requests-sse']!.attempts().length - 1,
        'npm eventsource had every event, ms after the broker served again': streaming['npm eventsource']!,
        'requests-sse had every event, ms after the broker served again': streaming['python requests-sse']!,
        'events checked per client (since before the outage)': 2 * EVENTS,
        'gaps, duplicates, out of order': 0,
      });
    } finally {
      for (const client of Object.values(clients)) client.close();
    }
  });
});
