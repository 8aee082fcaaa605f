/**
 * Two data centres: two independent Kafka clusters holding the same events of the same topics at
 * different offsets (as after MirrorMaker: each kept a different history before them), a set of
 * instances on each, and HAProxy sending clients to the first while it is up and to the second
 * otherwise (a data centre switch-over). The clients users run (npm `eventsource`, python
 * `requests-sse`) read from the first; its instances are drained; the clients reconnect, land on
 * the second, and resume with their timestamp ids exactly: no event lost or repeated, also where
 * they stopped inside a run of events sharing one millisecond.
 *
 * Each data centre is a single broker: what differs between data centres is the offsets, which a
 * cluster of one shows as well as one of three (the 3-broker cluster is test/faults/cluster.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTopics } from '../../src/kafka/admin.ts';
import { startBalancer, BEHIND_BALANCER, type Balancer } from '../support/balancer.ts';
import { rcEvent } from '../support/events.ts';
import { recordFigures } from '../support/fault-figures.ts';
import { startFleet, type Fleet } from '../support/fleet.ts';
import type { TestMessage } from '../support/kafka.ts';
import { metric } from '../support/metrics.ts';
import { produceRetrying, startOwnBroker, type OwnBroker } from '../support/own-broker.ts';
import { startEventSource, startRequestsSse, waitFor, type ReconnectingClient } from '../support/sse-clients.ts';

const STREAM = 'dc';
const TOPICS = ['eqiad.dc', 'codfw.dc'];
const PARTITIONS = 2;
const INSTANCES_PER_DC = 2;
const EVENTSOURCE_CLIENTS = 8;
const REQUESTS_SSE_CLIENTS = 1;
/** Events per millisecond in each partition. */
const RUN = 3;
/**
 * Shared events per partition before the switch: they end 1, 2 and 0 events into a millisecond's
 * run; the last partition gets none, so the client's id has nothing delivered from it.
 */
const BEFORE = [13, 14, 12, 0];
const AFTER = 8;
/**
 * How many of the last events of an older common history (HISTORY_LENGTH per partition, one per
 * millisecond) each data centre still holds, before the shared events: so the same events have
 * different offsets, higher in one data centre for some partitions and in the other for the rest.
 */
const HISTORY = { eqiad: [3, 20, 0, 7], codfw: [11, 2, 9, 20] };
const HISTORY_LENGTH = 20;
const TIMEOUT_MS = 120_000;

interface Dc {
  name: 'eqiad' | 'codfw';
  broker: OwnBroker;
  fleet: Fleet;
}

const slots = TOPICS.flatMap((topic) => Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })));
const slotKey = (topic: string, partition: number) => `${topic}/${partition}`;
/** The shared events' ids of each partition, in order, as produced. */
const shared = new Map<string, string[]>(slots.map((s) => [slotKey(s.topic, s.partition), []]));
/** The shared events' first millisecond; the history is an hour older. */
const base = Date.now() - 60_000;
const historyTimestamp = (j: number) => base - 3_600_000 + j;
let dcs: Dc[] = [];
let balancer: Balancer;
let clients: { name: string; client: ReconnectingClient }[] = [];

let made = 0;

/** A real recentchange event with `meta.id` set to `id`. */
function event(id: string, timestamp: number, partition: number): TestMessage {
  const value = rcEvent(made++);
  value.meta = { ...(value.meta as Record<string, unknown>), id };
  return { partition, timestamp, value };
}

/** The next `count` shared events of each partition (RUN per millisecond), written to both data centres in the same order. */
async function produceShared(counts: readonly number[]): Promise<void> {
  for (const [i, { topic, partition }] of slots.entries()) {
    const ids = shared.get(slotKey(topic, partition))!;
    const messages = Array.from({ length: counts[i]! }, (_, j) => {
      const k = ids.length + j;
      return event(`${topic}-${partition}-${k}`, base + Math.floor(k / RUN), partition);
    });
    ids.push(...messages.map((m) => (m.value as { meta: { id: string } }).meta.id));
    for (const dc of dcs) await produceRetrying(dc.broker.brokers, topic, messages);
  }
}

async function streamsOn(dc: Dc): Promise<number> {
  let sum = 0;
  for (let i = 0; i < INSTANCES_PER_DC; i++) if (dc.fleet.running(i)) sum += await metric(dc.fleet.urls[i]!, 'eventstreams_connected_clients', { stream: STREAM }).catch(() => 0);
  return sum;
}

const received = (client: ReconnectingClient) => client.metas().length;

beforeAll(async () => {
  const brokers = await Promise.all((['eqiad', 'codfw'] as const).map((name) => startOwnBroker(`dc-${name}`)));
  dcs = await Promise.all(
    (['eqiad', 'codfw'] as const).map(async (name, d) => {
      const broker = brokers[d]!;
      await ensureTopics(broker.brokers, TOPICS.map((topic) => ({ name: topic, partitions: PARTITIONS })));
      // What it still holds of the common history, before the shared events.
      for (const [i, { topic, partition }] of slots.entries()) {
        const first = HISTORY_LENGTH - HISTORY[name][i]!;
        const history = Array.from({ length: HISTORY_LENGTH - first }, (_, j) => event(`history-${topic}-${partition}-${first + j}`, historyTimestamp(first + j), partition));
        if (history.length > 0) await produceRetrying(broker.brokers, topic, history);
      }
      const fleet = await startFleet(INSTANCES_PER_DC, {
        kafka: { brokers: broker.brokers, request_timeout_ms: 2000 },
        heartbeat_interval: 1000,
        connections: { shutdown_drain_ms: 2000 },
        client_ip_connection_limit: 0,
        ...BEHIND_BALANCER,
        streams: { [STREAM]: { topics: TOPICS } },
      });
      return { name, broker, fleet };
    }),
  );
  const [eqiad, codfw] = dcs as [Dc, Dc];
  balancer = await startBalancer(eqiad.fleet.addresses, codfw.fleet.addresses);
}, 300_000);

afterAll(async () => {
  for (const { client } of clients) client.close();
  await balancer?.stop();
  for (const dc of dcs) {
    await dc.fleet.stop();
    await dc.broker.remove();
  }
});

describe('two data centres with different offsets for the same events', () => {
  it('a client moved from one to the other mid-stream resumes exactly with its timestamp id, also inside a millisecond', async () => {
    const [eqiad, codfw] = dcs as [Dc, Dc];
    const url = `${balancer.url}/v2/stream/${STREAM}`;
    clients = [
      ...Array.from({ length: EVENTSOURCE_CLIENTS }, (_, i) => ({ name: `npm eventsource ${i}`, client: startEventSource(url) })),
      ...Array.from({ length: REQUESTS_SSE_CLIENTS }, (_, i) => ({ name: `requests-sse ${i}`, client: startRequestsSse(url) })),
    ];
    await waitFor(async () => (await streamsOn(eqiad)) === clients.length, 'every client reading from eqiad', 60_000);
    await produceShared(BEFORE);
    const before = BEFORE.reduce((a, b) => a + b, 0);
    await waitFor(() => clients.every(({ client }) => received(client) >= before), 'the events before the switch', TIMEOUT_MS);

    // eqiad's instances are drained (as when a data centre is depooled); HAProxy sends the reconnects to codfw.
    const switchedAt = Date.now();
    await Promise.all(Array.from({ length: INSTANCES_PER_DC }, (_, i) => eqiad.fleet.signal(i, 'SIGTERM')));
    await waitFor(async () => (await streamsOn(codfw)) === clients.length, 'every client reading from codfw', TIMEOUT_MS);
    const movedAt = Date.now();
    await produceShared(slots.map(() => AFTER));
    await waitFor(() => clients.every(({ client }) => received(client) >= before + slots.length * AFTER), 'the events after the switch', TIMEOUT_MS);
    const resumedAt = Date.now();
    // A late duplicate would arrive after the last expected event: give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 1000));

    let checked = 0;
    for (const { name, client } of clients) {
      for (const { topic, partition } of slots) {
        const ids = client.metas().filter((m) => m.topic === topic && m.partition === partition).map((m) => m.id);
        expect(ids, `${name}, ${topic}/${partition}`).toEqual(shared.get(slotKey(topic, partition)));
        checked += ids.length;
      }
      // It resumed in codfw with a timestamp for every partition (offsets would mean eqiad's), and
      // with the count of events it had of the millisecond it stopped in; a partition that delivered
      // nothing, with the time of the last event before its start (the last of the history).
      const resumed = client.attempts().filter((a) => a.status === 200 && a.lastEventId !== null);
      expect(resumed.length, name).toBeGreaterThan(0);
      const id = JSON.parse(resumed.at(-1)!.lastEventId!) as { topic: string; partition: number; offset?: number; timestamp?: number; ts_seen?: number }[];
      expect(id.map((e) => [slotKey(e.topic, e.partition), e.offset, e.timestamp, e.ts_seen]), name).toEqual(
        slots.map(({ topic, partition }, i) =>
          BEFORE[i] === 0
            ? [slotKey(topic, partition), undefined, historyTimestamp(HISTORY_LENGTH - 1) + 1, 1]
            : [slotKey(topic, partition), undefined, base + Math.floor((BEFORE[i]! - 1) / RUN) + 1, ((BEFORE[i]! - 1) % RUN) + 1],
        ),
      );
      expect(client.gaveUp(), name).toBe(false);
    }

    recordFigures('datacentre-switch', 'Clients moved between two data centres (independent clusters, different offsets) mid-stream, through HAProxy', {
      clients: `${EVENTSOURCE_CLIENTS} npm eventsource + ${REQUESTS_SSE_CLIENTS} python requests-sse`,
      'instances per data centre': INSTANCES_PER_DC,
      'partitions (2 topics × 2)': slots.length,
      'events per millisecond per partition': RUN,
      'offset of the first shared event per partition, eqiad / codfw': slots.map((_, i) => `${HISTORY.eqiad[i]} / ${HISTORY.codfw[i]}`).join(', '),
      'shared events per partition (before / after the switch)': `${BEFORE.join(', ')} / ${AFTER}`,
      'events checked (all clients)': checked,
      'lost, duplicated, out of order': 0,
      'drain of eqiad to every client reading from codfw, ms': movedAt - switchedAt,
      'events after the switch at every client, ms after the last moved': resumedAt - movedAt,
    });
  });
});
