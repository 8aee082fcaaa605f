import type { StreamSettings } from './stream-settings.ts';

/** The configuration file after schema validation and defaults: EventStreams' snake_case keys. Mirrors schema.ts. */
export interface RawConfig {
  name: string;
  version?: string;
  description?: string;
  home?: string;
  port: number;
  listen_address?: string;
  interface?: string;
  log_level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  kafka: RawKafkaConfig;
  stream_config_uri?: string;
  stream_config_uri_options?: { headers?: Record<string, string>; [key: string]: unknown };
  stream_config_object_path?: string;
  stream_config_defaults: Record<string, StreamSettings>;
  stream_config_overrides: Record<string, StreamSettings>;
  stream_config_ttl: number;
  allowed_streams?: string[];
  streams: Record<string, StreamSettings>;
  schema_base_uris: string[];
  drop_canary_events: boolean;
  max_event_bytes: number;
  heartbeat_interval: number;
  client_ip_connection_limit: number;
  client_ip_header?: string;
  client_ip_ipv6_prefix: number;
  trusted_proxies: string[];
  log_client_ip: 'full' | 'truncated' | 'none';
  fanout: { mode: 'shared' | 'per_connection'; cache_bytes_per_partition: number; idle_reader_ttl_ms: number; client_backlog_bytes: number; client_stall_ms: number; catch_up_share_window: number; total_backlog_bytes: number; max_event_loop_lag_ms: number };
  connections: { max_duration: number; max_duration_jitter: number; reconnect_delay_ms: number; shutdown_drain_ms: number; max_streams: number };
  filters: { max_cost: number; max_total_cost: number };
  stream_ui_enabled: boolean;
  mediawiki_redacted_pages: Record<string, (string | number)[]>;
  sanitize: { visibility_streams: string[]; max_suppressed_revisions: number; replay_wait_ms: number };
}

import type { SaslMechanism } from './types.ts';

export interface RawKafkaConfig {
  brokers?: string[] | string;
  'metadata.broker.list'?: string[] | string;
  client_id?: string;
  'client.id'?: string;
  fetch_max_wait_ms?: number;
  'fetch.wait.max.ms'?: number;
  fetch_max_bytes_per_partition?: number;
  'fetch.message.max.bytes'?: number;
  request_timeout_ms?: number;
  'socket.timeout.ms'?: number;
  'security.protocol'?: string;
  'ssl.ca.location'?: string;
  'ssl.certificate.location'?: string;
  'ssl.key.location'?: string;
  'sasl.mechanisms'?: SaslMechanism;
  'sasl.mechanism'?: SaslMechanism;
  'sasl.username'?: string;
  'sasl.password'?: string;
  [key: string]: unknown;
}
