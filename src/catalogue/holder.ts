import type { ServiceConfig } from '../config/types.ts';
import { loadCatalogue } from './load.ts';
import type { StreamCatalogue } from './types.ts';

/** The slice of pino's API the holder uses; a pino logger fits. */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}
export interface Logger {
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

export interface CatalogueHolderOptions {
  /** How to build a catalogue; defaults to loadCatalogue(config). Replaceable for tests. */
  load?: () => Promise<StreamCatalogue>;
  fetch?: typeof fetch;
}

type Listener = (catalogue: StreamCatalogue) => void;

/**
 * Owns the current stream catalogue. Loads it at start (failure is fatal: nothing to serve), then,
 * when `streamConfigTtl` (seconds) > 0 and the catalogue comes from `streamConfigUri`, reloads it every
 * TTL. A failed reload keeps the previous catalogue, as EventStreams does, so a flaky MediaWiki API
 * never takes streams away.
 */
export class CatalogueHolder {
  readonly #config: ServiceConfig;
  readonly #logger: Logger;
  readonly #load: () => Promise<StreamCatalogue>;
  readonly #listeners = new Set<Listener>();
  #catalogue: StreamCatalogue | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(config: ServiceConfig, logger: Logger, options: CatalogueHolderOptions = {}) {
    this.#config = config;
    this.#logger = logger;
    this.#load =
      options.load ??
      (() =>
        loadCatalogue(config, {
          ...(options.fetch ? { fetch: options.fetch } : {}),
          warn: (msg) => logger.warn(msg),
        }));
  }

  /** Loads the first catalogue (throws if that fails) and starts the reload timer. */
  async start(): Promise<StreamCatalogue> {
    const catalogue = await this.#load();
    this.#catalogue = catalogue;
    this.#logger.info({ streams: catalogue.streams.map((s) => s.name) }, `Loaded ${catalogue.streams.length} streams`);
    this.#running = true;
    this.#schedule();
    return catalogue;
  }

  /** The catalogue to use for a new request. Throws before start() succeeded. */
  current(): StreamCatalogue {
    if (this.#catalogue === undefined) throw new Error('CatalogueHolder.current() called before start()');
    return this.#catalogue;
  }

  /** Called with the new catalogue whenever a reload changes it (e.g. to rebuild the OpenAPI spec). */
  onChange(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Reloads now. Returns false, keeping the previous catalogue and logging a warning, on failure. */
  async reload(): Promise<boolean> {
    let next: StreamCatalogue;
    try {
      next = await this.#load();
    } catch (err) {
      this.#logger.warn({ err }, 'Reloading the stream catalogue failed; keeping the previous one');
      return false;
    }
    const previous = this.#catalogue;
    this.#catalogue = next;
    if (previous === undefined || JSON.stringify(previous.streams) !== JSON.stringify(next.streams)) {
      this.#logger.info({ streams: next.streams.map((s) => s.name) }, `Stream catalogue changed: ${next.streams.length} streams`);
      for (const listener of this.#listeners) {
        try {
          listener(next);
        } catch (err) {
          this.#logger.error({ err }, 'A stream catalogue change listener failed');
        }
      }
    }
    return true;
  }

  /** Stops reloading; current() keeps answering with the last catalogue. */
  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  // A timeout chained after each reload, not setInterval: a slow source never gets overlapping loads.
  #schedule(): void {
    const ttl = this.#config.streamConfigTtl;
    if (!this.#running || ttl <= 0 || this.#config.streamConfigUri === undefined) return;
    this.#timer = setTimeout(() => {
      void this.reload().finally(() => this.#schedule());
    }, ttl * 1000);
    this.#timer.unref();
  }
}
