import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { KafkaApi, KafkaObserver } from '../kafka/observer.ts';

/** Seconds, for delays on the way from Kafka to the sockets: milliseconds on a quiet instance, seconds on a saturated one. */
const DELAY_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30];

/**
 * The service's Prometheus metrics. Label values are bounded: single stream names and topics from
 * the catalogue, fixed kinds and reasons; never sets of streams, client IPs or raw query strings.
 */
export class Metrics implements KafkaObserver {
  readonly registry = new Registry();
  // Per-event counts are plain numbers on the hot path, keyed by topic, and become per-stream
  // samples only when scraped: a labelled inc per event and client would cost real CPU.
  readonly #readByTopic = new Map<string, number>();
  readonly #sentByTopic = new Map<string, number>();
  #streamsOfTopic: () => ReadonlyMap<string, readonly string[]> = () => new Map();

  /** Named like EventStreams' metric of the same meaning. */
  readonly connectedClients = new Gauge({ name: 'eventstreams_connected_clients', help: 'Open stream connections, per requested stream', labelNames: ['stream'], registers: [this.registry] });
  /** Named like EventStreams' metric of the same meaning. */
  readonly connectionsTotal = new Counter({ name: 'eventstreams_client_connections_total', help: 'Stream connections opened, per requested stream (a connection to several streams counts once for each)', labelNames: ['stream'], registers: [this.registry] });
  readonly kafkaFetches = new Counter({ name: 'eventstreams_kafka_fetch_requests_total', help: 'Fetch requests sent to Kafka, by reader kind', labelNames: ['kind'], registers: [this.registry] });
  readonly kafkaMessages = new Counter({ name: 'eventstreams_kafka_messages_read_total', help: 'Messages read from Kafka, by reader kind', labelNames: ['kind'], registers: [this.registry] });
  readonly kafkaRequestDuration = new Histogram({
    name: 'eventstreams_kafka_request_duration_seconds',
    help: 'Duration of requests to Kafka (fetches include the broker-side wait for new data), by API and outcome',
    labelNames: ['api', 'outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly liveEventAge = new Histogram({
    name: 'eventstreams_live_event_age_seconds',
    help: "Age of live events when the shared reader gets them from Kafka (now minus the record's timestamp): how late fan-out starts",
    buckets: DELAY_BUCKETS,
    registers: [this.registry],
  });
  readonly writePass = new Histogram({
    name: 'eventstreams_write_pass_seconds',
    help: 'Duration of a write pass over every stream with output: what the last stream written waits on top of the event age',
    buckets: DELAY_BUCKETS,
    registers: [this.registry],
  });
  readonly eventsRead = this.#perStreamCounter('eventstreams_events_read_total', 'Messages read from Kafka (all reader kinds), per stream of their topic', this.#readByTopic);
  readonly eventsSent = this.#perStreamCounter('eventstreams_events_sent_total', 'Events written to clients, per stream of their topic', this.#sentByTopic);
  readonly bytesSent = new Counter({ name: 'eventstreams_bytes_sent_total', help: 'Bytes written to clients (as sent: compressed when the stream is)', registers: [this.registry] });
  readonly encodedConnections = new Counter({ name: 'eventstreams_stream_encodings_total', help: 'Stream connections opened, by content coding (identity, gzip, deflate, zstd)', labelNames: ['encoding'], registers: [this.registry] });
  // Counts read when metrics are scraped; the composition root points each at what it counts.
  countSharedHistories: () => number = () => 0;
  countSharedZstdStreams: () => number = () => 0;
  countCohorts: () => number = () => 0;
  countConnections: () => number = () => 0;
  readonly sharedHistories = this.#scrapedGauge('eventstreams_shared_compression_histories', 'Deflate histories shared by groups of gzip/deflate connections (compression.max_shared_histories)', () => this.countSharedHistories());
  readonly sharedZstdStreams = this.#scrapedGauge('eventstreams_shared_zstd_streams', 'zstd compressors shared by groups of zstd connections (compression.max_shared_zstd_streams)', () => this.countSharedZstdStreams());
  readonly cohorts = this.#scrapedGauge('eventstreams_cohorts', 'Groups of clients in step, each served as one (fanout.cohorts)', () => this.countCohorts());
  readonly openConnections = this.#scrapedGauge('eventstreams_open_connections', 'Open connections of every kind (streams, requests, idle keep-alive): connections.max_connections bounds them', () => this.countConnections());
  readonly droppedConnections = new Counter({ name: 'eventstreams_dropped_connections_total', help: 'Connections closed unanswered because connections.max_connections were open', registers: [this.registry] });
  readonly cacheLookups = new Counter({ name: 'eventstreams_cache_lookups_total', help: 'Client start positions served from the recent-events cache (hit) or needing a Kafka catch-up (miss)', labelNames: ['result'], registers: [this.registry] });
  readonly catchUpReaders = new Gauge({ name: 'eventstreams_catch_up_readers', help: 'Running catch-up readers', registers: [this.registry] });
  readonly catchUpWaiting = new Gauge({ name: 'eventstreams_catch_up_waiting', help: 'Client partitions waiting for a catch-up reader (fanout.max_catch_up_readers are running)', registers: [this.registry] });
  readonly catchUpReadersStarted = new Counter({ name: 'eventstreams_catch_up_readers_started_total', help: 'Catch-up readers started (clients resuming close together share one)', registers: [this.registry] });
  readonly sharedReaders = new Gauge({ name: 'eventstreams_shared_readers', help: 'Partitions with a running shared reader', registers: [this.registry] });
  readonly sharedReaderLag = new Gauge({ name: 'eventstreams_shared_reader_lag_messages', help: "Offsets between a shared reader's position and its partition's high watermark, at its last fetch", labelNames: ['topic', 'partition'], registers: [this.registry] });
  readonly cacheBytes = new Gauge({ name: 'eventstreams_cache_bytes', help: 'Bytes held by the recent-events caches', registers: [this.registry] });
  readonly replayOrderGivenUp = new Counter({ name: 'eventstreams_replay_order_given_up_total', help: 'Times a replay in time order went on without a partition that delivered nothing for fanout.replay_order_wait_ms', registers: [this.registry] });
  readonly disconnects = new Counter({ name: 'eventstreams_disconnects_total', help: 'Streams ended by the server, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly skippedMessages = new Counter({ name: 'eventstreams_skipped_messages_total', help: 'Kafka messages that were not servable events (not JSON, too large, null), by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly rejected = new Counter({ name: 'eventstreams_rejected_requests_total', help: 'Stream requests refused before streaming, by status', labelNames: ['status'], registers: [this.registry] });
  readonly sanitizedFields = new Counter({ name: 'eventstreams_sanitized_fields_total', help: 'Fields removed from events before they were served, per stream and rule (policy, visibility, suppressed, redacted_page)', labelNames: ['stream', 'rule'], registers: [this.registry] });
  readonly suppressedRevisions = new Gauge({ name: 'eventstreams_suppressed_revisions', help: 'Revisions with hidden parts in the suppression index', registers: [this.registry] });
  readonly suppressionEvictions = new Gauge({ name: 'eventstreams_suppression_index_evicted', help: 'Suppression index entries dropped (oldest first) because the index was full', registers: [this.registry] });
  readonly liveSelections = new Gauge({ name: 'eventstreams_live_selections', help: 'Distinct selections (streams, filter, projection) of open streams: each event is tested and encoded once per selection', registers: [this.registry] });
  readonly filterCost = new Gauge({ name: 'eventstreams_filter_cost', help: 'Sum of the costs of the distinct filters of open streams: the spent part of filters.max_total_cost', registers: [this.registry] });
  readonly eventsFiltered = new Counter({ name: 'eventstreams_events_filtered_total', help: 'Events a client consumed without being sent them because its filter did not match, per stream', labelNames: ['stream'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Which streams each topic belongs to, read at every scrape (the catalogue may be reloaded). */
  attributeTopics(streamsOfTopic: () => ReadonlyMap<string, readonly string[]>): void {
    this.#streamsOfTopic = streamsOfTopic;
  }

  countRead(topic: string, messages: number): void {
    this.#readByTopic.set(topic, (this.#readByTopic.get(topic) ?? 0) + messages);
  }

  countSent(topic: string, events: number): void {
    this.#sentByTopic.set(topic, (this.#sentByTopic.get(topic) ?? 0) + events);
  }

  timed<T>(api: KafkaApi, request: Promise<T>): Promise<T> {
    const end = this.kafkaRequestDuration.startTimer({ api });
    return request.then(
      (result) => {
        end({ outcome: 'ok' });
        return result;
      },
      (error: unknown) => {
        end({ outcome: 'error' });
        throw error;
      },
    );
  }

  /** A gauge set from `read()` at each scrape. */
  #scrapedGauge(name: string, help: string, read: () => number): Gauge {
    const gauge: Gauge = new Gauge({ name, help, registers: [this.registry], collect: () => gauge.set(read()) });
    return gauge;
  }

  /** A counter whose per-stream samples are computed at scrape time from per-topic counts. */
  #perStreamCounter(name: string, help: string, byTopic: ReadonlyMap<string, number>): Counter<'stream'> {
    const counter: Counter<'stream'> = new Counter({
      name,
      help,
      labelNames: ['stream'],
      registers: [this.registry],
      collect: () => this.#exportByStream(counter, byTopic),
    });
    return counter;
  }

  #exportByStream(counter: Counter<'stream'>, byTopic: ReadonlyMap<string, number>): void {
    const streamsOfTopic = this.#streamsOfTopic();
    const byStream = new Map<string, number>();
    // Every stream has a sample, so rates start from 0 rather than from the first event.
    for (const streams of streamsOfTopic.values()) for (const stream of streams) byStream.set(stream, 0);
    for (const [topic, count] of byTopic) {
      for (const stream of streamsOfTopic.get(topic) ?? []) byStream.set(stream, (byStream.get(stream) ?? 0) + count);
    }
    counter.reset();
    for (const [stream, count] of byStream) counter.inc({ stream }, count);
  }
}
