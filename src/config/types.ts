import type { FromSchema } from './from-schema.ts';
import type { configSchema } from './schema.ts';

type Schema = typeof configSchema;
type Defs = Schema['$defs'];

/** The configuration file after validation and defaults, keys as written (EventStreams' snake_case). */
export type RawConfig = FromSchema<Schema, Defs>;

/**
 * One stream's settings as written in config or served by MediaWiki's `action=streamconfigs`
 * (EventStreams' vocabulary). Unknown keys are kept but ignored.
 */
export type StreamSettings = FromSchema<Defs['streamSettings'], Defs>;

/** The SASL mechanisms the Kafka client supports with a user name and password. */
export type SaslMechanism = NonNullable<RawConfig['kafka']['sasl.mechanisms']>;

/** The file's keys camelCased (see `camelize`): most of ServiceConfig as it is. */
export type FileConfig = FromSchema<Schema, Defs, 'camel'>;

/** Keys the service does not take as written (aliases, grouping, changed units or types); DerivedConfig replaces them. */
type Replaced = 'listenAddress' | 'interface' | 'kafka' | 'streamConfigUriOptions' | 'mediawikiRedactedPages' | 'connections' | 'name' | 'version' | 'description' | 'home';

/**
 * The whole service configuration after defaults, file and environment were merged and validated.
 * Paths in `streamConfigUri` and `schemaBaseUris` are absolute; `clientIpHeader` is lower-case.
 */
export type ServiceConfig = Omit<FileConfig, Replaced> & DerivedConfig;

interface DerivedConfig {
  /** `listen_address`, else service-runner's `interface`. */
  listenAddress: string;
  kafka: KafkaConfig;
  /** `stream_config_uri_options.headers`. */
  streamConfigHeaders: Record<string, string>;
  /** Titles as strings: YAML reads some titles as numbers. */
  mediawikiRedactedPages: Record<string, string[]>;
  connections: Omit<FileConfig['connections'], 'maxDuration'> & {
    /** `max_duration` in ms; 0 = unlimited. */
    maxDurationMs: number;
  };
  /** Service identity for `/_info`, by default package.json's. */
  info: { name: string; version: string; description: string; home: string };
}

/** Kafka connection settings, each from our key or else its librdkafka alias. */
export interface KafkaConfig {
  /** `host:port` bootstrap brokers. Empty means: start the embedded local Kafka (demo mode). */
  brokers: string[];
  clientId: string;
  fetchMaxWaitMs: number;
  fetchMaxBytesPerPartition: number;
  requestTimeoutMs: number;
  /**
   * TLS towards the brokers (`security.protocol: ssl` or `sasl_ssl`); absent = plaintext. Absolute
   * paths of PEM files, read when the first Kafka client is created; no CA = the system's trusted CAs.
   */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** SASL authentication (`security.protocol: sasl_ssl` or `sasl_plaintext`); absent = none. */
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
}
