import path from 'node:path';
import pkg from '../../package.json' with { type: 'json' };
import { ConfigError } from './errors.ts';
import { camelize } from './from-schema.ts';
import { isUrl } from './raw.ts';
import { configSchema } from './schema.ts';
import type { FileConfig, KafkaConfig, RawConfig, ServiceConfig } from './types.ts';

type RawKafkaConfig = RawConfig['kafka'];

const packageInfo: { version: string; description: string; homepage?: string } = pkg;

/**
 * Turns the validated file into ServiceConfig: the file's keys camelCased, then the fields the
 * service derives (aliases, units, grouping) and the paths resolved against the config file's directory.
 */
export function toServiceConfig(raw: RawConfig, file: string, warnings: string[]): ServiceConfig {
  const baseDir = path.dirname(file);
  // camelize builds what FileConfig describes (both follow the schema).
  const {
    listenAddress,
    interface: serviceRunnerInterface,
    kafka: _kafka, // its librdkafka aliases are read from raw
    streamConfigUriOptions,
    mediawikiRedactedPages,
    connections: { maxDuration, ...connections },
    name,
    version,
    description,
    home,
    ...config
  } = camelize(configSchema, raw) as FileConfig;
  const result: ServiceConfig = {
    ...config,
    listenAddress: listenAddress ?? serviceRunnerInterface ?? '0.0.0.0',
    kafka: toKafkaConfig(raw.kafka, file, warnings),
    streamConfigHeaders: { ...streamConfigUriOptions?.headers },
    schemaBaseUris: config.schemaBaseUris.map((u) => resolveUri(baseDir, u)),
    mediawikiRedactedPages: Object.fromEntries(
      Object.entries(mediawikiRedactedPages).map(([domain, titles]) => [domain, titles.map(String)]),
    ),
    connections: { ...connections, maxDurationMs: maxDuration * 1000 },
    info: {
      name,
      version: version ?? packageInfo.version,
      description: description ?? packageInfo.description,
      // This service's API documentation, when no home page is configured or in package.json.
      home: home || packageInfo.homepage || '/?doc',
    },
  };
  if (config.streamConfigUri !== undefined) result.streamConfigUri = resolveUri(baseDir, config.streamConfigUri);
  if (config.streamConfigObjectPath === '') delete result.streamConfigObjectPath;
  // Node lower-cases incoming header names.
  if (config.clientIpHeader !== undefined) result.clientIpHeader = config.clientIpHeader.toLowerCase();
  return result;
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
