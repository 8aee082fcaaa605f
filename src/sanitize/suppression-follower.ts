import type { FastifyBaseLogger } from 'fastify';
import type { Fetcher, FetchPosition } from '../kafka/fetch.ts';
import type { KafkaClient } from '../kafka/gateway.ts';
import { runReadLoop } from '../kafka/read-loop.ts';
import { partitionKey } from '../protocol/position.ts';

/** How often topics that did not exist are looked for again. */
const MISSING_TOPIC_RECHECK_MS = 10_000;

/**
 * Reads the visibility-change topics from their earliest retained event, and then live, handing
 * every event to `learn`. Every instance rebuilds the same index from Kafka, so it survives
 * restarts and agrees across instances; `ready` says when it has read what existed at start.
 */
export class SuppressionFollower {
  readonly #gateway: KafkaClient;
  readonly #learn: (event: Record<string, unknown>) => void;
  readonly #log: FastifyBaseLogger;
  readonly #fetcher: Fetcher;
  readonly #positions = new Map<string, FetchPosition>();
  /** High watermarks at start: once read up to them, the index holds everything Kafka had. */
  readonly #targets = new Map<string, number>();
  #caughtUp = false;
  #stopped = false;
  /** A followed topic was deleted: reading stopped. */
  #ended = false;
  /** Ends the current wait early (on stop). */
  #wake: (() => void) | undefined;
  #waiters: (() => void)[] = [];
  #running: Promise<void> | undefined;

  constructor(gateway: KafkaClient, learn: (event: Record<string, unknown>) => void, log: FastifyBaseLogger) {
    this.#gateway = gateway;
    this.#learn = learn;
    this.#log = log;
    this.#fetcher = gateway.fetcher();
  }

  get caughtUp(): boolean {
    return this.#caughtUp;
  }

  /** Starts following `topics`; retries until Kafka answers. */
  start(topics: readonly string[]): void {
    if (topics.length === 0) {
      this.#markCaughtUp();
      return;
    }
    this.#running = this.#run(topics).catch((error: unknown) => {
      this.#log.error({ err: error }, 'suppression follower stopped');
      this.#markCaughtUp();
    });
  }

  /** Resolves true once caught up, false after `timeoutMs`. */
  ready(timeoutMs: number): Promise<boolean> {
    if (this.#caughtUp) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#fetcher.close().catch(() => undefined);
    await this.#running;
  }

  async #run(topics: readonly string[]): Promise<void> {
    const started = Date.now();
    let missing = await this.#resolveStart(topics, true);
    let recheckAt = Date.now() + MISSING_TOPIC_RECHECK_MS;
    this.#checkCaughtUp(started);
    while (!this.#stopped) {
      if (this.#positions.size > 0) await this.#follow(started, () => missing.length > 0 && Date.now() >= recheckAt);
      if (this.#stopped || this.#ended) return;
      // Topics created after the start (the demo creates them) are followed from their beginning.
      await this.#sleep(recheckAt - Date.now());
      missing = await this.#resolveStart(missing, false);
      recheckAt = Date.now() + MISSING_TOPIC_RECHECK_MS;
    }
  }

  /** Reads until stopped, or until `pause` says it is time to look for missing topics. */
  async #follow(started: number, pause: () => boolean): Promise<void> {
    await runReadLoop(this.#fetcher, this.#gateway, {
      positions: () => [...this.#positions.values()],
      deliver: (result) => {
        for (const message of result.messages) {
          const event = decode(message.value);
          if (event !== undefined) this.#learn(event);
        }
        for (const [key, next] of result.next) {
          const position = this.#positions.get(key);
          if (position !== undefined && next > position.offset) position.offset = next;
        }
        this.#checkCaughtUp(started);
      },
      moved: (moves) => {
        for (const move of moves) {
          const position = this.#positions.get(partitionKey(move.topic, move.partition));
          if (position !== undefined) position.offset = move.to;
        }
      },
      retrying: (error, attempt) => this.#log.warn({ err: error, attempt }, 'suppression follower: fetch failed; retrying'),
      fatal: (error) => {
        this.#log.error({ err: error }, 'suppression follower: a visibility topic vanished');
        this.#ended = true;
        this.#markCaughtUp();
      },
      fetched: () => undefined,
      closed: () => this.#stopped || pause(),
    });
  }

  /**
   * Adds every partition of the topics, from its earliest offset (retried until Kafka answers);
   * returns the topics that do not exist yet. At start, their latest offsets are what `ready` waits for.
   */
  async #resolveStart(topics: readonly string[], atStart: boolean): Promise<string[]> {
    for (let attempt = 1; !this.#stopped; attempt++) {
      try {
        const counts = await this.#gateway.partitionCounts(topics);
        const missing = topics.filter((topic) => !counts.has(topic));
        if (atStart) for (const topic of missing) this.#log.warn({ topic }, 'visibility topic does not exist yet: followed once it does');
        const partitions = [...counts].flatMap(([topic, count]) => Array.from({ length: count }, (_, partition) => ({ topic, partition })));
        const bounds = await this.#gateway.bounds(partitions);
        for (const tp of partitions) {
          const key = partitionKey(tp.topic, tp.partition);
          const bound = bounds.get(key);
          this.#positions.set(key, { ...tp, offset: bound?.earliest ?? 0 });
          if (atStart) this.#targets.set(key, bound?.latest ?? 0);
        }
        return missing;
      } catch (error) {
        this.#log.warn({ err: error, attempt }, 'suppression follower: cannot reach Kafka yet; retrying');
        await this.#sleep(Math.min(5000, 200 * 2 ** attempt));
      }
    }
    return [];
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, ms));
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  #checkCaughtUp(started: number): void {
    if (this.#caughtUp) return;
    for (const [key, target] of this.#targets) if ((this.#positions.get(key)?.offset ?? 0) < target) return;
    this.#log.info({ partitions: this.#positions.size, ms: Date.now() - started }, 'suppression index rebuilt from Kafka');
    this.#markCaughtUp();
  }

  #markCaughtUp(): void {
    this.#caughtUp = true;
    for (const wake of this.#waiters) wake();
    this.#waiters = [];
  }
}

function decode(value: Buffer | null): Record<string, unknown> | undefined {
  if (value === null) return undefined;
  try {
    const parsed: unknown = JSON.parse(value.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
