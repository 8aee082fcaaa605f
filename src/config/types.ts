import type { StreamSettings } from './stream-settings.ts';

/** Kafka connection settings. */
export interface KafkaConfig {
  /** `host:port` bootstrap brokers. Empty means: start the embedded local Kafka (demo mode). */
  brokers: string[];
  clientId: string;
  /** Longest time a fetch waits on the broker for new data, in ms. */
  fetchMaxWaitMs: number;
  /** Upper bound on bytes one fetch returns per partition. */
  fetchMaxBytesPerPartition: number;
  /** Connect/request timeout in ms. */
  requestTimeoutMs: number;
  /**
   * TLS towards the brokers (librdkafka `security.protocol: ssl` or `sasl_ssl`); absent = plaintext.
   * Absolute paths of PEM files (`ssl.ca.location`, `ssl.certificate.location`, `ssl.key.location`),
   * read when the first Kafka client is created; an absent CA means the system's trusted CAs.
   */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** SASL authentication (`security.protocol: sasl_ssl` or `sasl_plaintext`); absent = none. */
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
}

/** The SASL mechanisms the Kafka client supports with a user name and password. */
export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

/** The whole service configuration after defaults, file and environment were merged and validated. */
export interface ServiceConfig {
  port: number;
  listenAddress: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  kafka: KafkaConfig;
  /** Where the stream catalogue comes from: a file path or http(s) URL (EventStreams' `stream_config_uri`). */
  streamConfigUri?: string;
  /** Extra HTTP headers for fetching `streamConfigUri` (EventStreams' `stream_config_uri_options.headers`). */
  streamConfigHeaders: Record<string, string>;
  /** Dotted path to the streams object inside the fetched document (`stream_config_object_path`). */
  streamConfigObjectPath?: string;
  /** Settings merged under every fetched stream of the same name (`stream_config_defaults`). */
  streamConfigDefaults: Record<string, StreamSettings>;
  /** Settings merged over every fetched stream of the same name (`stream_config_overrides`). */
  streamConfigOverrides: Record<string, StreamSettings>;
  /** Seconds between catalogue reloads; 0 loads once at start (`stream_config_ttl`). */
  streamConfigTtlSeconds: number;
  /** When set, only these streams are served (`allowed_streams`). */
  allowedStreams?: string[];
  /** Streams given inline in the config (merged with the fetched ones; inline wins). */
  streams: Record<string, StreamSettings>;
  /** Where `$schema`/`schema_title` are resolved: directories or http(s) base URIs, tried in order. */
  schemaBaseUris: string[];
  /** Drop canary events (`meta.domain == "canary"`) unless a stream opts out with `drop_canary_events: false`. */
  dropCanaryEvents: boolean;
  /** Largest message value served as an event; larger ones are skipped (`max_event_bytes`). */
  maxEventBytes: number;
  /** Interval of the heartbeat comment on a quiet stream, in ms. */
  heartbeatIntervalMs: number;
  /** Concurrent connections per client IP; 0 = unlimited (`client_ip_connection_limit`). */
  clientIpConnectionLimit: number;
  /** Header carrying the real client IP, believed only from `trustedProxies` (e.g. `x-client-ip`). */
  clientIpHeader?: string;
  /** Leading bits of an IPv6 address that count as one client (`client_ip_ipv6_prefix`). */
  clientIpIpv6Prefix: number;
  /** Proxies whose client IP and request id headers are believed (`trusted_proxies`). */
  trustedProxies: string[];
  /** How much of the client IP log lines carry (`log_client_ip`). */
  logClientIp: 'full' | 'truncated' | 'none';
  fanout: FanoutConfig;
  connections: ConnectionsConfig;
  filters: FiltersConfig;
  /** Serve the web UI at `/v2/ui` (`stream_ui_enabled`). */
  streamUiEnabled: boolean;
  /** Page titles (as configured) per wiki domain whose events get user fields removed (`mediawiki_redacted_pages`). */
  mediawikiRedactedPages: Record<string, string[]>;
  sanitize: SanitizeConfig;
  /** Service identity for `/_info`. */
  info: { name: string; version: string; description: string; home: string };
}

/** How Kafka reads are shared between connections (`fanout`). */
export interface FanoutConfig {
  mode: 'shared' | 'per_connection';
  cacheBytesPerPartition: number;
  idleReaderTtlMs: number;
  clientBacklogBytes: number;
  /** 0 = never. */
  clientStallMs: number;
  catchUpShareWindow: number;
  totalBacklogBytes: number;
  maxEventLoopLagMs: number;
}

/** Lifetime of stream connections (`connections`). */
export interface ConnectionsConfig {
  /** 0 = unlimited. */
  maxDurationMs: number;
  maxDurationJitter: number;
  reconnectDelayMs: number;
  shutdownDrainMs: number;
  /** Streams open at once in the process; 0 = unlimited. */
  maxStreams: number;
}

/** Cost bounds of server-side filters (`filters`; costs in filter/cost.ts units). */
export interface FiltersConfig {
  /** One request's filter and projection. */
  maxCost: number;
  /** The distinct filters of all open streams together. */
  maxTotalCost: number;
}

/** Retroactive suppression (`sanitize`). */
export interface SanitizeConfig {
  /** Streams whose events announce visibility changes, followed from their earliest event. */
  visibilityStreams: string[];
  maxSuppressedRevisions: number;
  /** How long a replaying request waits for the suppression index after a start. */
  replayWaitMs: number;
}
