import path from 'node:path';
import { ConfigError } from './errors.ts';
import type { KeyPath } from './from-schema.ts';
import { isObject, isUrl, type RawObject } from './raw.ts';
import type { configSchema } from './schema.ts';

/** An environment variable that replaced a key of the file; used to blame the variable in errors. */
export interface EnvOverride {
  variable: string;
  /** Key path in the file, e.g. `['kafka', 'brokers']`. */
  key: string[];
}

type Parse = (value: string, variable: string, cwd: string) => unknown;

const asString: Parse = (value) => value.trim();

const asInteger: Parse = (value, variable) => {
  const trimmed = value.trim();
  if (!/^-?\d+$/.test(trimmed)) {
    throw new ConfigError(`Invalid environment variable ${variable}: must be an integer (got ${JSON.stringify(value)})`, {
      variable,
    });
  }
  return Number(trimmed);
};

const asList: Parse = (value) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

// A relative path typed on the command line means the working directory, not the config file's.
const asUri: Parse = (value, _variable, cwd) => {
  const trimmed = value.trim();
  return isUrl(trimmed) ? trimmed : path.resolve(cwd, trimmed);
};

interface EnvRule {
  variable: string;
  key: KeyPath<typeof configSchema>;
  parse: Parse;
  /** When true a set-but-empty variable is meaningful (e.g. "no brokers"); otherwise empty = unset. */
  emptyIsValue?: boolean;
}

/** The environment variables that override configuration keys (listed in the generated reference). */
export const ENV_RULES: readonly EnvRule[] = [
  { variable: 'PORT', key: ['port'], parse: asInteger },
  { variable: 'LISTEN_ADDRESS', key: ['listen_address'], parse: asString },
  { variable: 'KAFKA_BROKERS', key: ['kafka', 'brokers'], parse: asList, emptyIsValue: true },
  // Secrets from the environment (e.g. a Kubernetes secret), so the file can be shared.
  { variable: 'KAFKA_SASL_USERNAME', key: ['kafka', 'sasl.username'], parse: asString },
  { variable: 'KAFKA_SASL_PASSWORD', key: ['kafka', 'sasl.password'], parse: (value) => value },
  { variable: 'LOG_LEVEL', key: ['log_level'], parse: asString },
  { variable: 'STREAM_CONFIG_URI', key: ['stream_config_uri'], parse: asUri },
  { variable: 'HEARTBEAT_INTERVAL', key: ['heartbeat_interval'], parse: asInteger },
  { variable: 'CLIENT_IP_CONNECTION_LIMIT', key: ['client_ip_connection_limit'], parse: asInteger },
  { variable: 'MAX_STREAMS', key: ['connections', 'max_streams'], parse: asInteger },
  { variable: 'MAX_CONNECTIONS', key: ['connections', 'max_connections'], parse: asInteger },
  { variable: 'TRUSTED_PROXIES', key: ['trusted_proxies'], parse: asList, emptyIsValue: true },
  { variable: 'FILTERS_MAX_COST', key: ['filters', 'max_cost'], parse: asInteger },
  { variable: 'FILTERS_MAX_TOTAL_COST', key: ['filters', 'max_total_cost'], parse: asInteger },
  { variable: 'COMPRESSION_CODINGS', key: ['compression', 'codings'], parse: asList, emptyIsValue: true },
];

/**
 * Writes environment overrides into the raw document (before validation, so the schema checks
 * them too) and returns which keys they replaced.
 */
export function applyEnvOverrides(conf: RawObject, env: NodeJS.ProcessEnv, cwd: string): EnvOverride[] {
  const applied: EnvOverride[] = [];
  for (const rule of ENV_RULES) {
    const value = env[rule.variable];
    if (value === undefined || (value.trim() === '' && !rule.emptyIsValue)) continue;
    setKey(conf, rule.key, rule.parse(value, rule.variable, cwd));
    applied.push({ variable: rule.variable, key: rule.key });
  }
  return applied;
}

function setKey(target: RawObject, key: string[], value: unknown): void {
  let node = target;
  for (const part of key.slice(0, -1)) {
    const child = node[part];
    if (isObject(child)) {
      node = child;
    } else {
      const created: RawObject = {};
      node[part] = created;
      node = created;
    }
  }
  const last = key[key.length - 1];
  if (last !== undefined) node[last] = value;
}
