/**
 * The service is killed (SIGKILL: no goodbye to its clients) mid-stream and started again on the
 * same port: the reconnecting clients users run (npm `eventsource`, python `requests-sse`) come
 * back with their ids and resume exactly, also over events produced while it was dead.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ensureTopics } from '../../src/kafka/admin.ts';
import { rcEvent } from '../support/events.ts';
import { recordFigures } from '../support/fault-figures.ts';
import { exited, freePortPair, startMain, type MainProcess } from '../support/main-process.ts';
import { metric } from '../support/metrics.ts';
import { produceRetrying, startOwnBroker, type OwnBroker } from '../support/own-broker.ts';
import { startEventSource, startRequestsSse, waitFor, type ReconnectingClient } from '../support/sse-clients.ts';
import { checkDelivered, partitionEnds } from './delivery.ts';

const TOPIC = 'eqiad.service-kill';
const PARTITIONS = 2;
const EVENTSOURCE_CLIENTS = 50;
const PER_PHASE = 30;

let broker: OwnBroker;
let dir: string;
let main: MainProcess | undefined;

beforeAll(async () => {
  broker = await startOwnBroker('service-kill');
  await ensureTopics(broker.brokers, [{ name: TOPIC, partitions: PARTITIONS }]);
  dir = await mkdtemp(join(tmpdir(), 'eventstreams-kill-'));
});

afterAll(async () => {
  main?.child.kill('SIGKILL');
  await broker?.remove();
  await rm(dir, { recursive: true, force: true });
});

const produce = (from: number) =>
  produceRetrying(broker.brokers, TOPIC, Array.from({ length: PER_PHASE }, (_, i) => ({ partition: i % PARTITIONS, value: rcEvent(from + i, { seq: from + i }) })));

describe('service killed mid-stream and restarted', () => {
  it('npm eventsource and requests-sse clients reconnect with their ids and resume exactly', async () => {
    const port = await freePortPair();
    const config = join(dir, 'config.yaml');
    await writeFile(config, stringify({ port, listen_address: '127.0.0.1', kafka: { brokers: broker.brokers, request_timeout_ms: 2000 }, heartbeat_interval: 1000, streams: { killed: { topics: [TOPIC] } } }));
    main = await startMain({}, ['--config', config]);
    const url = `${main.url}/v2/stream/killed`;
    const clients: ReconnectingClient[] = [...Array.from({ length: EVENTSOURCE_CLIENTS }, () => startEventSource(url)), startRequestsSse(url)];
    try {
      // Every client has a stream (from the end of the topic) before anything is produced.
      await expect.poll(() => metric(url.replace(/\/v2\/.*/, ''), 'eventstreams_connected_clients', { stream: 'killed' }), { timeout: 30_000, interval: 200 }).toBe(clients.length);
      await produce(0);
      await waitFor(() => clients.every((c) => c.metas().length >= PER_PHASE), 'the events before the kill');

      const killedAt = Date.now();
      main.child.kill('SIGKILL');
      await exited(main.child);
      await produce(PER_PHASE);
      main = await startMain({}, ['--config', config]);
      const servingAt = Date.now();
      await waitFor(() => clients.every((c) => c.metas().length >= 2 * PER_PHASE), 'the events produced while the service was dead', 60_000);
      const resumedAt = Date.now();
      await produce(2 * PER_PHASE);
      await waitFor(() => clients.every((c) => c.metas().length >= 3 * PER_PHASE), 'the events after the restart', 60_000);
      await sleep(500);

      const ends = await partitionEnds(broker.brokers, TOPIC, PARTITIONS);
      let checked = 0;
      for (const client of clients) {
        checked += checkDelivered(client.metas(), new Map([[0, 0], [1, 0]]), ends);
        const [first, ...again] = client.attempts();
        expect(first?.lastEventId).toBeNull();
        // It came back with the id of the last event it had, and was answered with its stream.
        expect(again.filter((a) => a.status === 200).map((a) => a.lastEventId !== null)).toContain(true);
        expect(client.gaveUp()).toBe(false);
      }
      const errors = main.output().split('\n').filter((line) => /"level":(50|60)/.test(line));
      expect(errors).toEqual([]);

      recordFigures('service-kill', 'Service killed (SIGKILL) mid-stream and restarted on the same port', {
        clients: `${EVENTSOURCE_CLIENTS} npm eventsource + 1 python requests-sse`,
        'events per client (before / while dead / after)': `${PER_PHASE} / ${PER_PHASE} / ${PER_PHASE}`,
        'events checked (all clients)': checked,
        'gaps, duplicates, out of order': 0,
        'kill to serving again, ms': servingAt - killedAt,
        'all clients resumed with the events missed, ms after serving again': resumedAt - servingAt,
        'reconnect attempts (all clients)': clients.reduce((n, c) => n + c.attempts().length - 1, 0),
        'error log lines of the restarted service': errors.length,
      });
    } finally {
      for (const client of clients) client.close();
    }
  });
});
