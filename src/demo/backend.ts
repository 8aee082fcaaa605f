import type { Logger } from 'pino';
import type { StreamConfig } from '../catalogue/types.ts';
import { ensureTopics } from '../kafka/admin.ts';
import { startDemoReplay, type DemoReplay } from './replay.ts';

/** Demo topics get several partitions so resuming across partitions is visible. */
export const DEMO_PARTITIONS = 2;

/** Starts (or reuses) the local Kafka for demo mode. Stops it later only if this process started it. */
export async function startDemoKafka(logger: Logger): Promise<{ brokers: string[]; stop(): Promise<void> }> {
  // A development tool (Java, Maven jars), loaded only here: the production image has neither it nor a demo mode.
  const { defaultKafkaPort, getLocalKafkaStatus, startLocalKafka } = await import('../../scripts/lib/local-kafka.ts');
  const port = defaultKafkaPort();
  const alreadyRunning = (await getLocalKafkaStatus({ port })).running;
  logger.info({ port }, alreadyRunning ? 'demo: reusing the local Kafka' : 'demo: starting a local Kafka (first run downloads its jars)');
  const kafka = await startLocalKafka({ port, log: (msg) => logger.info(msg) });
  return {
    brokers: kafka.brokers,
    async stop() {
      if (!alreadyRunning) await kafka.stop();
    },
  };
}

/** Creates the catalogue's topics and replays the recorded events into them until stopped. */
export async function startDemoData(brokers: string[], streams: readonly StreamConfig[], logger: Logger): Promise<DemoReplay> {
  const topics = [...new Set(streams.flatMap((s) => s.topics))];
  await ensureTopics(brokers, topics.map((name) => ({ name, partitions: DEMO_PARTITIONS })));
  logger.info({ topics: topics.length, partitions: DEMO_PARTITIONS }, 'demo: topics ready; replaying recorded events');
  return startDemoReplay({ brokers, streams, createTopics: false, log: logger });
}
