/**
 * The usual start of a live-stream benchmark: a fresh bench broker with the two recentchange
 * topics (1 partition each), a rate producer of the recorded events (paused until `setRate`), and
 * a /proc monitor already watching the broker and this process. Everything is stopped by `cleanup`.
 */
import type { LocalKafka } from '../../scripts/lib/local-kafka.ts';
import { ensureTopics, loadTemplates, RateProducer, RECENTCHANGE_TOPICS, startBenchKafka } from './kafka.ts';
import { LoadGen } from './loadgen-client.ts';
import { Monitor } from './proc.ts';
import type { Cleanup } from './run.ts';

/** The service's `streams` config for them: `recentchange` over both topics. */
export const RECENTCHANGE_STREAMS = { 'mediawiki.recentchange': { topics: RECENTCHANGE_TOPICS, stream_aliases: ['recentchange'] } };

export interface LiveBench {
  kafka: LocalKafka;
  producer: RateProducer;
  monitor: Monitor;
}

export async function startLiveBench(cleanup: Cleanup, kafkaPort: number): Promise<LiveBench> {
  const kafka = await startBenchKafka(cleanup, kafkaPort, true);
  await ensureTopics(kafka.brokers, RECENTCHANGE_TOPICS.map((name) => ({ name, partitions: 1 })));
  const producer = new RateProducer(kafka.brokers, RECENTCHANGE_TOPICS, loadTemplates());
  cleanup.add('producer', () => producer.close());
  const monitor = new Monitor();
  cleanup.add('monitor', async () => monitor.stop());
  monitor.watch('kafka', kafka.pid);
  monitor.watch('bench', process.pid);
  return { kafka, producer, monitor };
}

/**
 * A generator process (watched by `monitor` as `name`) for clients whose every event is checked
 * (seq, latency) and that resume with their Last-Event-ID after a drop, as EventSource does.
 */
export async function startCheckedClients(cleanup: Cleanup, monitor: Monitor, name: string, port: number, path: string): Promise<LoadGen> {
  const gen = await LoadGen.start(cleanup, { port, path, sampleEvery: 1, trackAll: true, reconnectOnDrop: true, reconnectDelayMs: 1000 });
  monitor.watch(name, gen.pid);
  return gen;
}
