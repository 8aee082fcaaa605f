/**
 * The service is killed (SIGKILL: no goodbye to its clients) mid-stream and started again on the
 * same port: the reconnecting clients users run (npm `eventsource`, python `requests-sse`) come
 * back with their ids and resume exactly, also over events produced while it was dead. Their
 * streams are compressed (each connection of each client, checked): the kill cuts a gzip, deflate
 * or zstd body without its end, and the reconnect opens a new one.
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
import { CUT_BODY_ENDS, OWN_USER_AGENT, startEventSource, startRequestsSse, waitFor, type ClientOptions, type ReconnectingClient } from '../support/sse-clients.ts';
import { checkDelivered, partitionEnds } from './delivery.ts';

const TOPIC = 'eqiad.service-kill';
const PARTITIONS = 2;
const EVENTSOURCE_CLIENTS = 50;
const PER_PHASE = 30;

interface Client {
  name: string;
  client: ReconnectingClient;
  /** The Content-Encoding every one of its responses must have. */
  coding: string;
}

/**
 * npm eventsource with undici's own `Accept-Encoding` (`gzip, deflate`: the service's first
 * choice, gzip) or one that asks for deflate or zstd only (undici decodes both); requests-sse with
 * requests' own (`gzip, deflate`: gzip) or deflate only.
 */
const EVENTSOURCE_CODINGS: { coding: string; options: ClientOptions }[] = [
  { coding: 'gzip', options: {} },
  { coding: 'deflate', options: { acceptEncoding: 'deflate' } },
  { coding: 'zstd', options: { acceptEncoding: 'zstd' } },
];
// With a User-Agent of its own, as pywikibot sends (requests' own gets identity: compression.identity_user_agents).
const REQUESTS_SSE_CODINGS: { coding: string; options: ClientOptions }[] = [
  { coding: 'gzip', options: { userAgent: OWN_USER_AGENT } },
  { coding: 'deflate', options: { acceptEncoding: 'deflate', userAgent: OWN_USER_AGENT } },
];

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
    const named: Client[] = [
      ...Array.from({ length: EVENTSOURCE_CLIENTS }, (_, i) => {
        const { coding, options } = EVENTSOURCE_CODINGS[i % EVENTSOURCE_CODINGS.length]!;
        return { name: `npm eventsource ${i} (${coding})`, coding, client: startEventSource(url, options) };
      }),
      ...REQUESTS_SSE_CODINGS.map(({ coding, options }) => ({ name: `requests-sse (${coding})`, coding, client: startRequestsSse(url, 0, options) })),
    ];
    const clients = named.map((c) => c.client);
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
      for (const { name, client, coding } of named) {
        checked += checkDelivered(client.metas(), new Map([[0, 0], [1, 0]]), ends);
        const attempts = client.attempts();
        const [first, ...again] = attempts;
        expect(first?.lastEventId, name).toBeNull();
        // It came back with the id of the last event it had, and was answered with its stream.
        expect(again.filter((a) => a.status === 200).map((a) => a.lastEventId !== null), name).toContain(true);
        expect(client.gaveUp(), name).toBe(false);
        // Every stream it was answered with was compressed as it asked; the library decoded each
        // body until the kill cut it (never an error of its own: a body it could not decode), and
        // the last one is still being read.
        const answered = attempts.filter((a) => a.status === 200);
        expect(answered.map((a) => a.contentEncoding), name).toEqual(answered.map(() => coding));
        const cutBodies = answered.slice(0, -1).map((a) => a.ended);
        expect(cutBodies.filter((e) => !CUT_BODY_ENDS.some((cut) => cut.test(e ?? ''))), name).toEqual([]);
        expect(answered.at(-1)?.ended, name).toBeUndefined();
      }
      const errors = main.output().split('\n').filter((line) => /"level":(50|60)/.test(line));
      expect(errors).toEqual([]);

      recordFigures('service-kill', 'Service killed (SIGKILL) mid-stream and restarted on the same port', {
        clients: `${EVENTSOURCE_CLIENTS} npm eventsource + ${REQUESTS_SSE_CODINGS.length} python requests-sse`,
        'content codings (clients)': [...Map.groupBy(named, (c) => c.coding)].map(([coding, cs]) => `${coding} ${cs.length}`).join(', '),
        'events per client (before / while dead / after)': `${PER_PHASE} / ${PER_PHASE} / ${PER_PHASE}`,
        'events checked (all clients)': checked,
        'gaps, duplicates, out of order': 0,
        'kill to serving again, ms': servingAt - killedAt,
        'all clients resumed with the events missed, ms after serving again': resumedAt - servingAt,
        'reconnect attempts (all clients)': clients.reduce((n, c) => n + c.attempts().length - 1, 0),
        'error log lines of the restarted service': errors.length,
        'bodies cut by the kill, as the client libraries read them': [...Map.groupBy(named.flatMap((c) => c.client.attempts().filter((a) => a.ended !== undefined)), (a) => a.ended ?? '')]
          .map(([ended, as]) => `${ended} (${as.length})`)
          .join('; '),
      });
    } finally {
      for (const client of clients) client.close();
    }
  });
});
