import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The service's Prometheus metrics. Label values are bounded: stream names from the catalogue,
 * fixed kinds and reasons; never client IPs or raw query strings.
 */
export class Metrics {
  readonly registry = new Registry();
  /** Named like EventStreams' metric of the same meaning. */
  readonly connectedClients = new Gauge({ name: 'eventstreams_connected_clients', help: 'Open stream connections, per requested stream', labelNames: ['stream'], registers: [this.registry] });
  readonly connectionsTotal = new Counter({ name: 'eventstreams_client_connections_total', help: 'Stream connections opened, per requested stream set', labelNames: ['streams'], registers: [this.registry] });
  readonly kafkaFetches = new Counter({ name: 'eventstreams_kafka_fetch_requests_total', help: 'Fetch requests sent to Kafka, by reader kind', labelNames: ['kind'], registers: [this.registry] });
  readonly kafkaMessages = new Counter({ name: 'eventstreams_kafka_messages_read_total', help: 'Messages read from Kafka, by reader kind', labelNames: ['kind'], registers: [this.registry] });
  readonly eventsSent = new Counter({ name: 'eventstreams_events_sent_total', help: 'Events written to clients', registers: [this.registry] });
  readonly bytesSent = new Counter({ name: 'eventstreams_bytes_sent_total', help: 'Bytes written to clients', registers: [this.registry] });
  readonly cacheLookups = new Counter({ name: 'eventstreams_cache_lookups_total', help: 'Client start positions served from the recent-events cache (hit) or needing a Kafka catch-up (miss)', labelNames: ['result'], registers: [this.registry] });
  readonly catchUpReaders = new Gauge({ name: 'eventstreams_catch_up_readers', help: 'Running catch-up readers', registers: [this.registry] });
  readonly catchUpReadersStarted = new Counter({ name: 'eventstreams_catch_up_readers_started_total', help: 'Catch-up readers started (clients resuming close together share one)', registers: [this.registry] });
  readonly sharedReaders = new Gauge({ name: 'eventstreams_shared_readers', help: 'Partitions with a running shared reader', registers: [this.registry] });
  readonly cacheBytes = new Gauge({ name: 'eventstreams_cache_bytes', help: 'Bytes held by the recent-events caches', registers: [this.registry] });
  readonly disconnects = new Counter({ name: 'eventstreams_disconnects_total', help: 'Streams ended by the server, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly skippedMessages = new Counter({ name: 'eventstreams_skipped_messages_total', help: 'Kafka messages that were not servable events (not JSON, too large, null), by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly rejected = new Counter({ name: 'eventstreams_rejected_requests_total', help: 'Stream requests refused before streaming, by status', labelNames: ['status'], registers: [this.registry] });
  readonly sanitizedFields = new Counter({ name: 'eventstreams_sanitized_fields_total', help: 'Fields removed from events before they were served, per stream and rule (policy, visibility, suppressed, redacted_page)', labelNames: ['stream', 'rule'], registers: [this.registry] });
  readonly suppressedRevisions = new Gauge({ name: 'eventstreams_suppressed_revisions', help: 'Revisions with hidden parts in the suppression index', registers: [this.registry] });
  readonly suppressionEvictions = new Gauge({ name: 'eventstreams_suppression_index_evicted', help: 'Suppression index entries dropped (oldest first) because the index was full', registers: [this.registry] });
  readonly eventsFiltered = new Counter({ name: 'eventstreams_events_filtered_total', help: 'Events a client consumed without being sent them because its filter did not match, per stream', labelNames: ['stream'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
