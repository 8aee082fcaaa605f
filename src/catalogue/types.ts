/** A public stream as served: its name, the names it also answers to, and the Kafka topics behind it. */
export interface StreamConfig {
  /** Canonical stream name, e.g. `mediawiki.recentchange`. */
  name: string;
  /** Other names that resolve to this stream, e.g. `recentchange`. */
  aliases: string[];
  /** Kafka topics read for this stream, in order, e.g. `eqiad.mediawiki.recentchange`. */
  topics: string[];
  /**
   * Topics a `Last-Event-ID` may name for this stream: `topics` plus the stream's `topics_allowed`
   * (e.g. the other data centre's topic). Absent = just `topics`.
   */
  topicsAllowed?: string[];
  description?: string;
  /** Schema title without version, e.g. `mediawiki/recentchange`. */
  schemaTitle?: string;
  /** Versioned schema URI as the events carry it, e.g. `/mediawiki/recentchange/1.0.0`. */
  schemaUri?: string;
  /** Drop events with `meta.domain == "canary"` before they reach clients. */
  dropCanaryEvents: boolean;
  /** Fields never served, as dotted paths (`*` = any key): the stream's `remove_fields`. */
  removeFields?: string[];
}

/** The resolved set of public streams at one point in time. Immutable: a reload builds a new one. */
export interface StreamCatalogue {
  readonly streams: readonly StreamConfig[];
  /** Look a stream up by its name or one of its aliases. */
  get(nameOrAlias: string): StreamConfig | undefined;
}
