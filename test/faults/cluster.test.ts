/**
 * Beyond one machine's single broker and single process: a 3-node KRaft cluster (replication
 * factor 3, min.insync.replicas 2), three instances of the service, and a real HAProxy in front of
 * them set up as the README recommends (round robin, no stickiness, X-Forwarded-For from a trusted
 * proxy). The clients users run (npm `eventsource`, python `requests-sse`) read through the
 * balancer from the start of the file to its end, while a partition's leader is killed, instances
 * are killed, drained and restarted one by one, and the whole broker quorum goes down: after each,
 * every client has every event of the topic exactly once, in per-partition order.
 */
import { Admin } from '@platformatic/kafka';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTopics } from '../../src/kafka/admin.ts';
import { startBalancer, BEHIND_BALANCER, type Balancer } from '../support/balancer.ts';
import { rcEvent } from '../support/events.ts';
import { recordFigures } from '../support/fault-figures.ts';
import { startFleet, type Fleet } from '../support/fleet.ts';
import { metric } from '../support/metrics.ts';
import { produceRetrying, startOwnBroker, type OwnBroker } from '../support/own-broker.ts';
import { startEventSource, startRequestsSse, waitFor, type ReconnectingClient } from '../support/sse-clients.ts';
import { checkDelivered, partitionEnds } from './delivery.ts';

const TOPIC = 'eqiad.cluster';
const STREAM = 'cluster';
const PARTITIONS = 3;
const INSTANCES = 3;
const EVENTSOURCE_CLIENTS = 24;
const REQUESTS_SSE_CLIENTS = 2;
const PER_PHASE = 30;
/** Generous: a JVM or an instance starts in tens of seconds on a loaded 2-core machine. */
const RECOVERY_TIMEOUT_MS = 120_000;

let cluster: OwnBroker;
let fleet: Fleet;
let balancer: Balancer;
let clients: ReconnectingClient[] = [];
let produced = 0;

beforeAll(async () => {
  // A killed broker is fenced after its session times out (default 9 s): shorter, so the tests wait less.
  cluster = await startOwnBroker('cluster', { 'broker.session.timeout.ms': 4000, 'broker.heartbeat.interval.ms': 1000 }, 3);
  await ensureTopics(cluster.brokers, [{ name: TOPIC, partitions: PARTITIONS }]);
  fleet = await startFleet(INSTANCES, {
    kafka: { brokers: cluster.brokers, request_timeout_ms: 2000 },
    heartbeat_interval: 1000,
    connections: { shutdown_drain_ms: 3000 },
    log_client_ip: 'full',
    client_ip_connection_limit: 0,
    ...BEHIND_BALANCER,
    streams: { [STREAM]: { topics: [TOPIC] } },
  });
  balancer = await startBalancer(fleet.addresses);
  const url = `${balancer.url}/v2/stream/${STREAM}`;
  clients = [...Array.from({ length: EVENTSOURCE_CLIENTS }, () => startEventSource(url)), ...Array.from({ length: REQUESTS_SSE_CLIENTS }, () => startRequestsSse(url))];
  // Every client has a stream (from the end of the empty topic) before anything is produced.
  await waitFor(async () => (await connected()) === clients.length, 'every client connected through the balancer', 60_000);
}, 300_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await balancer?.stop();
  await fleet?.stop();
  await cluster?.remove();
});

/** Streams open on all running instances. */
async function connected(): Promise<number> {
  let sum = 0;
  for (let i = 0; i < INSTANCES; i++) if (fleet.running(i)) sum += await metric(fleet.urls[i]!, 'eventstreams_connected_clients', { stream: STREAM }).catch(() => 0);
  return sum;
}

/** Produces the next PER_PHASE events (spread over the partitions), waiting for the cluster while it cannot take them. */
async function produce(): Promise<void> {
  const from = produced;
  produced += PER_PHASE;
  await produceRetrying(cluster.brokers, TOPIC, Array.from({ length: PER_PHASE }, (_, i) => ({ partition: (from + i) % PARTITIONS, value: rcEvent(from + i, { seq: from + i }) })));
}

async function allHave(what: string): Promise<number> {
  await waitFor(() => clients.every((c) => c.metas().length >= produced), what, RECOVERY_TIMEOUT_MS);
  return Date.now();
}

/** Every client has every offset of every partition once, in order, and none gave up. */
async function checkAll(): Promise<number> {
  // A late duplicate would arrive after the last expected event: give it a moment.
  await sleep(1000);
  const ends = await partitionEnds(cluster.brokers, TOPIC, PARTITIONS);
  let checked = 0;
  for (const [i, client] of clients.entries()) {
    checked += checkDelivered(client.metas(), new Map(Array.from({ length: PARTITIONS }, (_, p) => [p, 0])), ends);
    expect(client.gaveUp(), `client ${i}`).toBe(false);
  }
  return checked;
}

function reconnects(): number {
  return clients.reduce((n, c) => n + c.attempts().length - 1, 0);
}

async function leaderOf(partition: number): Promise<number> {
  const admin = new Admin({ clientId: 'fault-test', bootstrapBrokers: cluster.brokers, timeout: 5000, retries: 3 });
  try {
    const md = await admin.metadata({ topics: [TOPIC], forceUpdate: true });
    const leader = md.topics.get(TOPIC)?.partitions[partition]?.leader;
    if (leader === undefined || leader < 0) throw new Error(`no leader for ${TOPIC}/${partition}`);
    return leader;
  } finally {
    await admin.close();
  }
}

const CLIENTS_FIGURE = `${EVENTSOURCE_CLIENTS} npm eventsource + ${REQUESTS_SSE_CLIENTS} python requests-sse, through HAProxy to ${INSTANCES} instances`;

describe('a 3-broker cluster, 3 instances behind HAProxy', () => {
  it('spreads the clients over every instance, which see their address from the balancer and no one else', async () => {
    const perInstance = await Promise.all(fleet.urls.map((url) => metric(url, 'eventstreams_connected_clients', { stream: STREAM })));
    expect(perInstance.every((n) => n > 0), `streams per instance: ${perInstance.join(', ')}`).toBe(true);
    // A forged X-Forwarded-For: through the balancer (which appends the real peer) and straight to an instance.
    const forged = { accept: 'text/event-stream', 'x-forwarded-for': '203.0.113.9' };
    for (const url of [balancer.url, fleet.urls[0]!]) {
      const controller = new AbortController();
      const response = await fetch(`${url}/v2/stream/${STREAM}`, { headers: forged, signal: controller.signal });
      expect(response.status).toBe(200);
      controller.abort();
    }
    const opened = () =>
      Array.from({ length: INSTANCES }, (_, i) => fleet.output(i))
        .join('\n')
        .split('\n')
        .filter((line) => line.includes('"stream opened"'))
        .map((line) => (JSON.parse(line) as { clientIp?: string }).clientIp);
    await waitFor(() => opened().length === clients.length + 2, 'the log lines of the forged requests');
    // Streams through the balancer come from 127.0.0.3; the instances log the client behind it.
    expect(new Set(opened())).toEqual(new Set(['127.0.0.1']));
  });

  it('the leader of a partition is killed mid-stream (SIGKILL) and later restarted: no client loses or repeats an event', async () => {
    await produce();
    await allHave('the events before the kill');
    const leader = await leaderOf(0);
    const killedAt = Date.now();
    await cluster.kill(leader);
    await produce();
    const recoveredAt = await allHave('the events produced after the leader was killed');
    const newLeader = await leaderOf(0);
    expect(newLeader).not.toBe(leader);
    const restartAt = Date.now();
    await cluster.restart();
    const backAt = Date.now();
    await produce();
    await allHave('the events after the old leader came back');
    const checked = await checkAll();
    recordFigures('cluster-leader-kill', 'Leader of a partition killed (SIGKILL) on a 3-broker cluster, then restarted', {
      clients: CLIENTS_FIGURE,
      'events per client (before / leader down / after its restart)': `${PER_PHASE} / ${PER_PHASE} / ${PER_PHASE}`,
      'events checked (all clients, whole topic so far)': checked,
      'gaps, duplicates, out of order': 0,
      'kill to every client having the events produced meanwhile, ms': recoveredAt - killedAt,
      'killed broker restarted, ms': backAt - restartAt,
      'reconnects (all clients, so far)': reconnects(),
    });
  });

  it('one instance SIGKILLed, one SIGTERMed (drain), then a rolling restart of all: clients keep reading through the balancer', async () => {
    const times: Record<string, number> = {};
    const step = async (name: string, fault: () => Promise<void>) => {
      const at = Date.now();
      await fault();
      await produce();
      times[name] = (await allHave(`the events after: ${name}`)) - at;
    };
    await step('instance 1 SIGKILLed', () => fleet.signal(0, 'SIGKILL'));
    await fleet.start(0);
    await step('instance 2 SIGTERMed (drained)', () => fleet.signal(1, 'SIGTERM'));
    await fleet.start(1);
    const rollingAt = Date.now();
    for (let i = 0; i < INSTANCES; i++) {
      await step(`rolling restart, instance ${i + 1}`, async () => {
        await fleet.signal(i, 'SIGTERM');
        await fleet.start(i);
      });
    }
    const rolling = Date.now() - rollingAt;
    const checked = await checkAll();
    for (let i = 0; i < INSTANCES; i++) {
      expect(fleet.output(i).split('\n').filter((line) => /"level":(50|60)/.test(line)), `instance ${i + 1}`).toEqual([]);
    }
    recordFigures('cluster-instances', 'Instances behind HAProxy killed, drained and restarted one by one (3-broker cluster)', {
      clients: CLIENTS_FIGURE,
      'events per client per step': PER_PHASE,
      'events checked (all clients, whole topic so far)': checked,
      'gaps, duplicates, out of order': 0,
      ...Object.fromEntries(Object.entries(times).map(([name, ms]) => [`${name}: to every client having the next events, ms`, ms])),
      'rolling restart of all instances, ms': rolling,
      'reconnects (all clients, so far)': reconnects(),
    });
  });

  it('the whole broker quorum goes down (SIGKILL) and comes back: streams stay open, nothing is lost or repeated', async () => {
    await produce();
    await allHave('the events before the outage');
    const reconnectsBefore = reconnects();
    const downAt = Date.now();
    await cluster.kill();
    // The producer keeps trying while the cluster is down, as an application would.
    const during = produce();
    // Until every instance reports Kafka unreachable, so the outage is seen by all, not just survived.
    await expect.poll(async () => (await Promise.all(fleet.urls.map(async (url) => (await fetch(`${url}/_ready`)).status))).every((s) => s === 503), { timeout: 60_000, interval: 250 }).toBe(true);
    // A client arriving during the outage is told to retry (by the balancer: no instance is ready), not refused for good.
    const late = startEventSource(`${balancer.url}/v2/stream/${STREAM}`);
    await waitFor(() => late.attempts().length > 0, 'the late client answered');
    const restartAt = Date.now();
    await cluster.restart();
    const servingAt = Date.now();
    await during;
    const recoveredAt = await allHave('the events produced during the outage');
    // The late client has a stream of an instance (from the end) before the next events.
    await waitFor(async () => (await connected()) === clients.length + 1, 'the late client connected to an instance', RECOVERY_TIMEOUT_MS);
    await produce();
    await allHave('the events after the outage');
    await waitFor(() => late.metas().length >= PER_PHASE, 'the late client streams the events after the outage', RECOVERY_TIMEOUT_MS);
    const checked = await checkAll();
    expect(late.gaveUp()).toBe(false);
    expect(late.attempts()[0]?.status).toBe(200);
    late.close();
    recordFigures('cluster-quorum-outage', 'The whole 3-broker quorum killed (SIGKILL) and restarted under streams read through HAProxy', {
      clients: CLIENTS_FIGURE,
      'events per client (before / during / after)': `${PER_PHASE} / ${PER_PHASE} / ${PER_PHASE}`,
      'events checked (all clients, whole topic so far)': checked,
      'gaps, duplicates, out of order': 0,
      'reconnects during the outage (all clients)': reconnects() - reconnectsBefore,
      'cluster down (kill to serving again), ms': servingAt - downAt,
      'of which restarting the 3 brokers, ms': servingAt - restartAt,
      'all clients had the events produced during the outage, ms after the cluster served again': recoveredAt - servingAt,
    });
  });
});
