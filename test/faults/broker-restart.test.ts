/**
 * The broker restarts under 100 open streams, gracefully (SIGTERM) and by a crash (SIGKILL), with
 * events produced before, during (the producer waits for the broker) and after: every connection
 * stays open with heartbeats through the outage, and every client ends with every event of the
 * topic exactly once, in per-partition order.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBlocks } from '../../bench/lib/sse-parser.ts';
import { ensureTopics } from '../../src/kafka/admin.ts';
import { rcEvent } from '../support/events.ts';
import { recordFigures } from '../support/fault-figures.ts';
import { uniqueTopicName, type TestMessage } from '../support/kafka.ts';
import { produceRetrying, startOwnBroker, type OwnBroker } from '../support/own-broker.ts';
import { startTestService } from '../support/service.ts';
import { openRaw, type RawStream } from '../support/sse.ts';
import { checkExactlyOnce, partitionEnds, silenceSampler } from './delivery.ts';

const CLIENTS = 100;
const PARTITIONS = 2;
const PER_PHASE = 40;
const HEARTBEAT_MS = 500;
/** How long the broker stays down, so heartbeats must carry the connections. */
const OUTAGE_MS = 4000;

let broker: OwnBroker;

beforeAll(async () => {
  broker = await startOwnBroker('broker-restart');
});

afterAll(async () => {
  await broker?.remove();
});

function phase(seq0: number): TestMessage[] {
  return Array.from({ length: PER_PHASE }, (_, i) => ({ partition: i % PARTITIONS, value: rcEvent(seq0 + i, { seq: seq0 + i }) }));
}

describe('broker restart mid-stream with 100 clients', () => {
  for (const how of ['SIGTERM', 'SIGKILL'] as const) {
    it(`${how}: connections stay open with heartbeats, and every client gets every event exactly once in order`, async () => {
      const topic = uniqueTopicName(`eqiad.restart-${how}`);
      await ensureTopics(broker.brokers, [{ name: topic, partitions: PARTITIONS }]);
      // The catalogue is inline; each scenario gets its own stream and topic.
      const stream = `restart-${how.toLowerCase()}`;
      const svc = await startTestService(
        { [stream]: { topics: [topic] } },
        { kafka: { brokers: broker.brokers, request_timeout_ms: 2000 }, heartbeat_interval: HEARTBEAT_MS },
      );
      const clients: RawStream[] = [];
      try {
        for (let i = 0; i < CLIENTS; i++) clients.push(await openRaw(`${svc.url}/v2/stream/${stream}`));
        await Promise.all(clients.map((c) => c.until((s) => s.text().startsWith(':ok'))));
        const closed = clients.map(() => false);
        clients.forEach((c, i) => void c.ended.then(() => (closed[i] = true)));
        const sampler = silenceSampler(clients);

        const total = () => Math.min(...clients.map((c) => c.messages().length));
        await produceRetrying(broker.brokers, topic, phase(0));
        await Promise.all(clients.map((c) => c.until((s) => s.messages().length >= PER_PHASE, 30_000)));

        const down = Date.now();
        if (how === 'SIGTERM') await broker.stop();
        else await broker.kill();
        const marks = clients.map((c) => c.text().length);
        // The producer keeps trying while the broker is down, as an application would.
        const during = produceRetrying(broker.brokers, topic, phase(PER_PHASE));
        await sleep(OUTAGE_MS);
        const heartbeatsWhileDown = clients.map((c, i) => parseBlocks(c.text().slice(marks[i])).filter((b) => b.event === undefined).length);
        await broker.restart();
        const up = Date.now();
        await during;
        await Promise.all(clients.map((c) => c.until((s) => s.messages().length >= 2 * PER_PHASE, 60_000)));
        const recovered = Date.now();
        await produceRetrying(broker.brokers, topic, phase(2 * PER_PHASE));
        await Promise.all(clients.map((c) => c.until((s) => s.messages().length >= 3 * PER_PHASE, 60_000)));
        // A late duplicate would arrive after the last expected event: give it a moment.
        await sleep(1000);
        const silence = sampler.stop();

        expect(closed.filter(Boolean)).toHaveLength(0);
        expect(Math.min(...heartbeatsWhileDown)).toBeGreaterThanOrEqual(Math.floor(OUTAGE_MS / HEARTBEAT_MS) - 3);
        const ends = await partitionEnds(broker.brokers, topic, PARTITIONS);
        let checked = 0;
        for (const client of clients) {
          checked += checkExactlyOnce(client, ends);
          expect(client.blocks().filter((b) => b.event === 'error')).toEqual([]);
        }
        // Every produced event is in Kafka once (the producer never retried a written batch), and so with every client.
        expect(clients[0]?.messages().map((m) => m.data.seq).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 3 * PER_PHASE }, (_, i) => i));
        expect(total()).toBe(3 * PER_PHASE);

        recordFigures(`broker-restart-${how.toLowerCase()}`, `Broker ${how === 'SIGTERM' ? 'graceful restart (SIGTERM)' : 'crash and restart (SIGKILL)'} under ${CLIENTS} open streams`, {
          clients: CLIENTS,
          'events per client (before / during / after)': `${PER_PHASE} / ${PER_PHASE} / ${PER_PHASE}`,
          'events checked (all clients)': checked,
          'gaps, duplicates, out of order': 0,
          'connections closed by the outage': 0,
          'broker down (stop to serving again), ms': up - down,
          'all clients had the events produced during the outage, ms after the broker served again': recovered - up,
          'heartbeat interval, ms': HEARTBEAT_MS,
          'heartbeats per client while the broker was down (min)': Math.min(...heartbeatsWhileDown),
          'longest silence on any connection, ms (sampled every 100 ms)': silence,
        });
      } finally {
        for (const c of clients) c.close();
        await svc.stop();
      }
    });
  }
});
