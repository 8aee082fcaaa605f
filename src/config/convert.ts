import path from 'node:path';
import pkg from '../../package.json' with { type: 'json' };
import ipaddr from 'ipaddr.js';
import { ConfigError } from './errors.ts';
import { isUrl } from './raw.ts';
import type { RawConfig, RawKafkaConfig } from './raw-config.ts';
import type { KafkaConfig, ServiceConfig } from './types.ts';

const packageInfo: { version: string; description: string; homepage?: string } = pkg;

/**
 * Turns the validated snake_case file into the camelCase ServiceConfig: applies the defaults that
 * depend on aliases (librdkafka and service-runner names), splits broker strings and resolves
 * relative paths against the config file's directory.
 */
export function toServiceConfig(raw: RawConfig, file: string, warnings: string[]): ServiceConfig {
  const baseDir = path.dirname(file);
  const config: ServiceConfig = {
    port: raw.port,
    listenAddress: raw.listen_address ?? raw.interface ?? '0.0.0.0',
    logLevel: raw.log_level,
    kafka: toKafkaConfig(raw.kafka, file, warnings),
    streamConfigHeaders: { ...raw.stream_config_uri_options?.headers },
    streamConfigDefaults: raw.stream_config_defaults,
    streamConfigOverrides: raw.stream_config_overrides,
    streamConfigTtlSeconds: raw.stream_config_ttl,
    streams: raw.streams,
    schemaBaseUris: raw.schema_base_uris.map((u) => resolveUri(baseDir, u)),
    dropCanaryEvents: raw.drop_canary_events,
    maxEventBytes: raw.max_event_bytes,
    heartbeatIntervalMs: raw.heartbeat_interval,
    clientIpConnectionLimit: raw.client_ip_connection_limit,
    clientIpIpv6Prefix: raw.client_ip_ipv6_prefix,
    trustedProxies: raw.trusted_proxies,
    logClientIp: raw.log_client_ip,
    fanout: {
      mode: raw.fanout.mode,
      cacheBytesPerPartition: raw.fanout.cache_bytes_per_partition,
      idleReaderTtlMs: raw.fanout.idle_reader_ttl_ms,
      clientBacklogBytes: raw.fanout.client_backlog_bytes,
      clientStallMs: raw.fanout.client_stall_ms,
      catchUpShareWindow: raw.fanout.catch_up_share_window,
      totalBacklogBytes: raw.fanout.total_backlog_bytes,
      maxEventLoopLagMs: raw.fanout.max_event_loop_lag_ms,
    },
    connections: {
      maxDurationMs: raw.connections.max_duration * 1000,
      maxDurationJitter: raw.connections.max_duration_jitter,
      reconnectDelayMs: raw.connections.reconnect_delay_ms,
      shutdownDrainMs: raw.connections.shutdown_drain_ms,
      maxStreams: raw.connections.max_streams,
    },
    filters: { maxCost: raw.filters.max_cost, maxTotalCost: raw.filters.max_total_cost },
    streamUiEnabled: raw.stream_ui_enabled,
    mediawikiRedactedPages: Object.fromEntries(
      Object.entries(raw.mediawiki_redacted_pages).map(([domain, titles]) => [domain, titles.map(String)]),
    ),
    sanitize: {
      visibilityStreams: raw.sanitize.visibility_streams,
      maxSuppressedRevisions: raw.sanitize.max_suppressed_revisions,
      replayWaitMs: raw.sanitize.replay_wait_ms,
    },
    info: {
      name: raw.name,
      version: raw.version ?? packageInfo.version,
      description: raw.description ?? packageInfo.description,
      home: raw.home ?? packageInfo.homepage ?? '',
    },
  };
  if (raw.stream_config_uri !== undefined) config.streamConfigUri = resolveUri(baseDir, raw.stream_config_uri);
  if (raw.stream_config_object_path !== undefined && raw.stream_config_object_path !== '') {
    config.streamConfigObjectPath = raw.stream_config_object_path;
  }
  if (raw.allowed_streams !== undefined) config.allowedStreams = raw.allowed_streams;
  for (const entry of raw.trusted_proxies) {
    if (!isProxySpec(entry)) {
      throw new ConfigError(`Invalid configuration file ${file}: trusted_proxies: must be IP addresses, CIDRs or loopback, linklocal, uniquelocal; ${JSON.stringify(entry)} is none of these`, { file, key: 'trusted_proxies' });
    }
  }
  // Node lower-cases incoming header names.
  if (raw.client_ip_header !== undefined) config.clientIpHeader = raw.client_ip_header.toLowerCase();
  return config;
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** What `trusted_proxies` accepts (the forms @fastify/proxy-addr compiles). */
function isProxySpec(entry: string): boolean {
  if (PROXY_NAMES.has(entry) || ipaddr.isValid(entry)) return true;
  try {
    ipaddr.parseCIDR(entry);
    return true;
  } catch {
    return false;
  }
}

function resolveUri(baseDir: string, uri: string): string {
  return isUrl(uri) ? uri : path.resolve(baseDir, uri);
}

function toKafkaConfig(raw: RawKafkaConfig, file: string, warnings: string[]): KafkaConfig {
  const kafka: KafkaConfig = {
    brokers: toList(raw.brokers ?? raw['metadata.broker.list'] ?? []),
    clientId: raw.client_id ?? raw['client.id'] ?? 'eventstreams',
    fetchMaxWaitMs: raw.fetch_max_wait_ms ?? raw['fetch.wait.max.ms'] ?? 500,
    fetchMaxBytesPerPartition: raw.fetch_max_bytes_per_partition ?? raw['fetch.message.max.bytes'] ?? 1024 * 1024,
    requestTimeoutMs: raw.request_timeout_ms ?? raw['socket.timeout.ms'] ?? 30_000,
  };
  const protocol = raw['security.protocol']?.toLowerCase() ?? 'plaintext';
  if (protocol.startsWith('sasl')) kafka.sasl = toSasl(raw, protocol, file);
  else if (raw['sasl.username'] !== undefined || raw['sasl.mechanisms'] !== undefined || raw['sasl.mechanism'] !== undefined) {
    warnings.push(`${file}: kafka.sasl.* settings are ignored with security.protocol ${protocol}; use sasl_ssl or sasl_plaintext`);
  }
  if (protocol === 'ssl' || protocol === 'sasl_ssl') {
    // Paths only: the files are read when connecting, so a config naming another host's CA still loads.
    const baseDir = path.dirname(file);
    const tls: NonNullable<KafkaConfig['tls']> = {};
    if (raw['ssl.ca.location'] !== undefined) tls.caFile = path.resolve(baseDir, raw['ssl.ca.location']);
    if (raw['ssl.certificate.location'] !== undefined) tls.certFile = path.resolve(baseDir, raw['ssl.certificate.location']);
    if (raw['ssl.key.location'] !== undefined) tls.keyFile = path.resolve(baseDir, raw['ssl.key.location']);
    kafka.tls = tls;
  }
  return kafka;
}

function toSasl(raw: RawKafkaConfig, protocol: string, file: string): NonNullable<KafkaConfig['sasl']> {
  const mechanism = raw['sasl.mechanisms'] ?? raw['sasl.mechanism'];
  const { 'sasl.username': username, 'sasl.password': password } = raw;
  const missing = [
    ...(mechanism === undefined ? ['sasl.mechanisms (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)'] : []),
    ...(username === undefined ? ['sasl.username (or KAFKA_SASL_USERNAME)'] : []),
    ...(password === undefined ? ['sasl.password (or KAFKA_SASL_PASSWORD)'] : []),
  ];
  if (mechanism === undefined || username === undefined || password === undefined) {
    throw new ConfigError(`Invalid configuration file ${file}: kafka.security.protocol ${protocol} needs kafka.${missing.join(', kafka.')}`, {
      file,
      key: 'kafka.security.protocol',
    });
  }
  return { mechanism, username, password };
}

function toList(value: string[] | string): string[] {
  const items = Array.isArray(value) ? value : value.split(',');
  return items.map((s) => s.trim()).filter((s) => s !== '');
}
