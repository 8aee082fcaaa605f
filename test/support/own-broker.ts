/**
 * A broker, or a cluster of several, of a test file's own (never the shared test broker), on free
 * ports and under .kafka/test-* (where CI's cleanup finds one a crashed run left behind), that the
 * test may stop gracefully, SIGKILL (all, or one node) and start again with its data.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalKafkaError, startLocalKafka, stopLocalKafka, type LocalKafka } from '../../scripts/lib/local-kafka.ts';
import { repoRoot } from '../../scripts/lib/repo-root.ts';
import { freePorts } from './main-process.ts';
import { produceJson, type ProducedMessage, type TestMessage } from './kafka.ts';

export interface OwnBroker {
  readonly brokers: string[];
  readonly port: number;
  /** Whether every node is serving (between start/restart and stop/kill). */
  readonly running: boolean;
  /** Graceful stop of every node (SIGTERM, as an operator's restart). */
  stop(): Promise<void>;
  /** SIGKILL (a crash) of every node, or of the node with that id: no clean shutdown of the log or the controller. */
  kill(nodeId?: number): Promise<void>;
  /** Starts the stopped or killed nodes again on the same ports with the same data. */
  restart(): Promise<void>;
  /** Stops it and deletes its data. */
  remove(): Promise<void>;
}

/** `nodes` > 1: a cluster of combined broker+controller nodes, replication factor `nodes`, `min.insync.replicas` a majority. */
export async function startOwnBroker(name: string, overrides: Record<string, string | number | boolean> = {}, nodes = 1): Promise<OwnBroker> {
  const dataDir = join(repoRoot, '.kafka', `test-${name}-${process.pid}`);
  // Tests produce with explicit old timestamps: no time-based deletion unless a test asks for it.
  const settings = { 'log.retention.ms': -1, ...overrides };
  let kafka: LocalKafka | undefined;
  let port = 0;
  for (let attempt = 0; kafka === undefined; attempt++) {
    port = await freePorts(2 * nodes);
    try {
      kafka = await startLocalKafka({ port, dataDir, nodes, fresh: true, overrides: settings });
    } catch (error) {
      if (!(error instanceof LocalKafkaError && error.code === 'PORT_IN_USE') || attempt >= 5) throw error;
    }
  }
  let current: LocalKafka | undefined = kafka;
  const brokers = kafka.brokers;
  return {
    brokers,
    port,
    get running() {
      return current !== undefined;
    },
    async stop() {
      // Every node of the data directory, also those running beside a killed one.
      await stopLocalKafka(dataDir);
      current = undefined;
    },
    async kill(nodeId?: number) {
      if (current === undefined) return;
      const pids = current.nodes.filter((n) => nodeId === undefined || n.id === nodeId).map((n) => n.pid);
      current = undefined;
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      for (const pid of pids) while (alive(pid)) await sleep(50);
    },
    async restart() {
      // Nodes still running are kept; the others start again.
      current ??= await startLocalKafka({ port, dataDir, nodes, overrides: settings });
    },
    async remove() {
      await stopLocalKafka(dataDir);
      current = undefined;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Produces like an application that must not lose events: while the broker is down it waits and
 * tries again. One partition per call, so a failed attempt wrote nothing of the batch.
 */
export async function produceRetrying(brokers: string[], topic: string, messages: TestMessage[]): Promise<ProducedMessage[]> {
  const partitions = [...new Set(messages.map((m) => m.partition ?? 0))];
  const produced: ProducedMessage[] = [];
  for (const partition of partitions) {
    const batch = messages.filter((m) => (m.partition ?? 0) === partition);
    for (;;) {
      try {
        produced.push(...(await produceJson(brokers, topic, batch)));
        break;
      } catch {
        await sleep(250);
      }
    }
  }
  return produced;
}
