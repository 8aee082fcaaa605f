/**
 * Kafka for the benchmarks: a dedicated local broker (never the dev one), the bench events (the
 * real recorded recentchange events, each with `bench: {seq, sent_ms}` as its FIRST field), a
 * steady-rate producer and a bulk producer.
 */
import { join } from 'node:path';
import { Producer } from '@platformatic/kafka';
import { ensureTopics } from '../../src/kafka/admin.ts';
import { LocalKafkaError, startLocalKafka, type LocalKafka } from '../../scripts/lib/local-kafka.ts';
import { repoRoot } from '../../scripts/lib/repo-root.ts';
import { benchValue, loadTemplates, RECENTCHANGE_TOPICS } from './bench-events.ts';
import { log, sleep, type Cleanup } from './run.ts';

export { benchValue, loadTemplates, RECENTCHANGE_TOPICS };

/** Starts (or with fresh=false reuses) the bench broker; stopped by `cleanup`. */
export async function startBenchKafka(cleanup: Cleanup, port: number, fresh: boolean): Promise<LocalKafka> {
  const dataDir = join(repoRoot, '.kafka', `bench-${port}`);
  log(`kafka: ${fresh ? 'starting a fresh' : 'starting (or reusing)'} broker on 127.0.0.1:${port} (${dataDir})`);
  let kafka: LocalKafka | null = null;
  for (let attempt = 1; kafka === null; attempt++) {
    try {
      kafka = await startLocalKafka({
        port,
        dataDir,
        fresh,
        // Replay data is reused for days: never delete by age or size.
        overrides: { 'log.retention.ms': -1, 'log.retention.bytes': -1 },
        log: (m) => log(m),
      });
    } catch (error) {
      // A client socket of another run may hold the port for a moment (TIME_WAIT, ephemeral use).
      if (!(error instanceof LocalKafkaError) || error.code !== 'PORT_IN_USE' || attempt >= 4) throw error;
      log(`kafka: port ${port} busy (attempt ${attempt}); retrying in 5 s`);
      await sleep(5000);
    }
  }
  const started = kafka;
  cleanup.add(`kafka broker pid ${started.pid}`, async () => {
    log(`kafka: stopping the broker (pid ${started.pid})`);
    await started.stop();
  });
  return started;
}

export { ensureTopics };

export function newProducer(brokers: string[]): Producer<Buffer, Buffer, Buffer, Buffer> {
  return new Producer<Buffer, Buffer, Buffer, Buffer>({
    clientId: 'eventstreams-bench-producer',
    bootstrapBrokers: brokers,
    acks: -1,
    idempotent: true,
    retries: 5,
    retryDelay: 250,
  });
}

export interface RateProducerStats {
  /** Seqs acknowledged by the broker. */
  produced: number;
  /** Seqs handed out (the next seq). */
  nextSeq: number;
  failedBatches: number;
  /** Seqs whose batch failed: they may or may not be in Kafka. */
  uncertainSeqs: number[];
  lastError: string | null;
  /** Produce round trips (ms): how long the broker took to acknowledge a batch. */
  maxAckMs: number;
}

/**
 * Produces `rate` events/s in 10 ms ticks, alternating over `topics` and then over their first
 * `partitions` partitions (default: partition 0 only), with global sequence numbers. One batch in flight at a time; events due meanwhile go in the next batch,
 * so `sent_ms` is always the time the batch left.
 */
export class RateProducer {
  readonly #producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  readonly #templates: readonly string[];
  readonly #topics: readonly string[];
  readonly #partitions: number;
  #rate = 0;
  #acc = 0;
  #last = Date.now();
  #inFlight: Promise<void> | null = null;
  readonly #timer: NodeJS.Timeout;
  readonly stats: RateProducerStats = { produced: 0, nextSeq: 0, failedBatches: 0, uncertainSeqs: [], lastError: null, maxAckMs: 0 };

  constructor(brokers: string[], topics: readonly string[], templates: readonly string[], partitions = 1) {
    this.#producer = newProducer(brokers);
    this.#topics = topics;
    this.#partitions = partitions;
    this.#templates = templates;
    this.#timer = setInterval(() => this.#tick(), 10);
  }

  /** Events per second; 0 pauses. */
  setRate(rate: number): void {
    this.#rate = rate;
    this.#acc = 0;
    this.#last = Date.now();
  }

  #tick(): void {
    const now = Date.now();
    this.#acc += (this.#rate * (now - this.#last)) / 1000;
    this.#last = now;
    if (this.#inFlight !== null || this.#acc < 1) return;
    const count = Math.min(Math.floor(this.#acc), 5000);
    this.#acc -= count;
    const first = this.stats.nextSeq;
    this.stats.nextSeq += count;
    const messages = [];
    for (let i = 0; i < count; i++) {
      const seq = first + i;
      const partition = Math.floor(seq / this.#topics.length) % this.#partitions;
      messages.push({ topic: this.#topics[seq % this.#topics.length]!, partition, timestamp: BigInt(now), value: benchValue(this.#templates, seq, now) });
    }
    this.#inFlight = this.#producer.send({ messages }).then(
      () => {
        this.stats.produced += count;
        this.stats.maxAckMs = Math.max(this.stats.maxAckMs, Date.now() - now);
        this.#inFlight = null;
      },
      (error: unknown) => {
        this.stats.failedBatches++;
        this.stats.lastError = error instanceof Error ? error.message : String(error);
        for (let s = first; s < first + count; s++) this.stats.uncertainSeqs.push(s);
        this.#inFlight = null;
      },
    );
  }

  /** Stops producing and waits for the batch in flight; returns the last seq handed out. */
  async pause(): Promise<number> {
    this.#rate = 0;
    this.#acc = 0;
    await this.#inFlight;
    return this.stats.nextSeq - 1;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#inFlight;
    await this.#producer.close().catch(() => undefined);
  }
}
