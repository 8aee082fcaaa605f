import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import ipaddr from 'ipaddr.js';
import type { EnvOverride } from './env.ts';
import { ConfigError } from './errors.ts';
import { isObject, type RawObject } from './raw.ts';
import { configSchema } from './schema.ts';
import type { RawConfig } from './types.ts';

// useDefaults fills the schema's `default`s into the document. The compiled validator (and its Ajv
// instance, ~0.36 MiB of heap) is needed at start and on SIGHUP only: held weakly, so a running
// service does not keep it, while loads close together (tests) compile it once.
let compiled: WeakRef<ValidateFunction<RawConfig>> | undefined;

function schemaValidator(): ValidateFunction<RawConfig> {
  let validate = compiled?.deref();
  if (validate === undefined) {
    validate = new Ajv2020({ allErrors: true, useDefaults: true, allowUnionTypes: true, strict: true }).compile<RawConfig>(configSchema);
    compiled = new WeakRef(validate);
  }
  return validate;
}

const TOP_LEVEL_KEYS = new Set(Object.keys(configSchema.properties));
const KAFKA_KEYS = new Set(Object.keys(configSchema.properties.kafka.properties));

/**
 * Validates the raw document in place (adding defaults) and returns it typed. Unknown top-level keys
 * and librdkafka settings we do not use become warnings; anything else wrong is a ConfigError that
 * names the key, or the environment variable that set it.
 */
export function validateConfig(conf: RawObject, file: string, envOverrides: EnvOverride[], warnings: string[]): RawConfig {
  const validateSchema = schemaValidator();
  if (!validateSchema(conf)) {
    throw toConfigError(validateSchema.errors ?? [], file, envOverrides);
  }
  const unknown = Object.keys(conf).filter((k) => !TOP_LEVEL_KEYS.has(k));
  for (const key of unknown) warnings.push(`${file}: unknown key "${key}" ignored`);
  const kafka = conf['kafka'];
  if (isObject(kafka)) {
    const ignored = Object.keys(kafka).filter((k) => !KAFKA_KEYS.has(k));
    if (ignored.length > 0) warnings.push(`${file}: kafka settings not used by this service, ignored: ${ignored.join(', ')}`);
  }
  const proxy = conf.trusted_proxies.find((entry) => !isProxySpec(entry));
  if (proxy !== undefined) {
    throw new ConfigError(`Invalid configuration file ${file}: trusted_proxies: must be IP addresses, CIDRs or loopback, linklocal, uniquelocal; ${JSON.stringify(proxy)} is none of these`, { file, key: 'trusted_proxies' });
  }
  const { max_connections: maxConnections, max_streams: maxStreams } = conf.connections;
  if (maxConnections > 0 && maxConnections < maxStreams) {
    const from = envOverrides.filter((o) => o.key[0] === 'connections').map((o) => o.variable);
    const source = from.length === 0 ? '' : ` (from ${from.join(', ')})`;
    throw new ConfigError(`Invalid configuration file ${file}: connections.max_connections${source}: must be at least connections.max_streams (${maxStreams}), not ${maxConnections}: every stream holds a connection`, {
      file,
      key: 'connections.max_connections',
    });
  }
  return conf;
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** What `trusted_proxies` accepts (the forms @fastify/proxy-addr compiles); beyond what the schema can say. */
function isProxySpec(entry: string): boolean {
  if (PROXY_NAMES.has(entry) || ipaddr.isValid(entry)) return true;
  try {
    ipaddr.parseCIDR(entry);
    return true;
  } catch {
    return false;
  }
}

function toConfigError(errors: ErrorObject[], file: string, envOverrides: EnvOverride[]): ConfigError {
  const seen = new Set<string>();
  const problems: { key: string; text: string; variable: string | undefined }[] = [];
  for (const error of errors) {
    const key = keyPath(error);
    if (seen.has(key)) continue; // one message per key: union types report once per alternative
    seen.add(key);
    const variable = envOverrides.find((o) => key === o.key.join('.') || key.startsWith(`${o.key.join('.')}.`))?.variable;
    problems.push({ key, text: describe(error), variable });
  }
  const first = problems[0];
  if (first?.variable && problems.length === 1) {
    return new ConfigError(`Invalid environment variable ${first.variable}: ${first.text}`, {
      file,
      key: first.key,
      variable: first.variable,
    });
  }
  const lines = problems.map((p) => (p.variable ? `${p.key} (from ${p.variable}): ${p.text}` : `${p.key}: ${p.text}`));
  return new ConfigError(`Invalid configuration file ${file}: ${lines.join('; ')}`, {
    file,
    ...(first ? { key: first.key } : {}),
    ...(first?.variable ? { variable: first.variable } : {}),
  });
}

function keyPath(error: ErrorObject): string {
  const parts = error.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.keyword === 'required' && typeof error.params['missingProperty'] === 'string') {
    parts.push(error.params['missingProperty']);
  }
  return parts.length > 0 ? parts.join('.') : '(root)';
}

function describe(error: ErrorObject): string {
  const params: Record<string, unknown> = error.params;
  if (error.keyword === 'type') {
    const type = params['type'];
    return `must be ${Array.isArray(type) ? type.join(' or ') : String(type)}`;
  }
  if (error.keyword === 'enum' && Array.isArray(params['allowedValues'])) {
    return `must be one of ${params['allowedValues'].map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return error.message ?? error.keyword;
}
