import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { ConfigError, DEFAULT_CONFIG_FILE, configErrorMessage, configFileArgument, loadConfig } from '../../src/config/load.ts';
import { configSchema } from '../../src/config/schema.ts';
import pkg from '../../package.json' with { type: 'json' };

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Wikimedia's production helm values (GPL-3.0, see test/fixtures/SOURCES.md). */
const deploymentDir = path.join(repoRoot, 'test', 'fixtures', 'eventstreams-deployment');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'es-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * The values file continues a long flow sequence at a lower indentation than its key. Helm's YAML
 * parser (go-yaml) accepts that, the `yaml` library does not: indent those continuation lines.
 * (Helm writes the rendered config with its own serializer, so the service never sees this form.)
 */
function indentFlowContinuations(text: string): string {
  let depth = 0;
  let quote: string | undefined; // quoted titles continue over lines
  return text
    .split('\n')
    .map((line) => {
      const out = depth > 0 ? `        ${line}` : line;
      for (const ch of line) {
        if (quote) {
          if (ch === quote) quote = undefined;
        } else if (ch === "'" || ch === '"') quote = ch;
        else if (ch === '#' && depth === 0) break;
        else if (ch === '[' || ch === '{') depth++;
        else if (ch === ']' || ch === '}') depth--;
      }
      return out;
    })
    .join('\n');
}

async function write(name: string, content: string | object): Promise<string> {
  const file = path.join(dir, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, typeof content === 'string' ? content : toYaml(content));
  return file;
}

async function load(content: string | object, env: NodeJS.ProcessEnv = {}) {
  const file = await write('config.yaml', content);
  return loadConfig({ argv: ['--config', file], env, cwd: dir });
}

async function loadError(content: string | object, env: NodeJS.ProcessEnv = {}): Promise<ConfigError> {
  const error: unknown = await load(content, env).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('defaults', () => {
  it('an empty file gives every default', async () => {
    const { config, warnings, source } = await load('');
    expect(source).toBe(path.join(dir, 'config.yaml'));
    expect(warnings).toEqual([]);
    expect(config).toEqual({
      port: 8092,
      listenAddress: '0.0.0.0',
      logLevel: 'info',
      kafka: { brokers: [], clientId: 'eventstreams', fetchMaxWaitMs: 500, fetchMaxBytesPerPartition: 1048576, requestTimeoutMs: 30000 },
      streamConfigHeaders: {},
      streamConfigDefaults: {},
      streamConfigOverrides: {},
      streamConfigTtl: 0,
      streams: {},
      schemaBaseUris: [],
      dropCanaryEvents: true,
      maxEventBytes: 4194304,
      heartbeatInterval: 15000,
      clientIpConnectionLimit: 16,
      clientIpIpv6Prefix: 64,
      trustedProxies: ['loopback'],
      logClientIp: 'truncated',
      fanout: { mode: 'shared', cacheBytesPerPartition: 33554432, idleReaderTtlMs: 30000, clientBacklogBytes: 2097152, clientStallMs: 30000, catchUpShareWindow: 10000, catchUpFetchBytes: 4194304, maxCatchUpReaders: 64, replayLookaheadBytes: 262144, replayOrderWaitMs: 1000, cohorts: true, totalBacklogBytes: 268435456, maxEventLoopLagMs: 1000 },
      connections: { maxDurationMs: 900000, maxDurationJitter: 0.1, reconnectDelayMs: 1000, shutdownDrainMs: 10000, maxStreams: 10000, maxConnections: 15000, acceptSockets: 16 },
      filters: { maxCost: 2000, maxTotalCost: 100000 },
      compression: { codings: ['gzip', 'deflate', 'zstd'], deflateLevel: 6, zstdLevel: 3, maxSharedHistories: 1000, maxSharedZstdStreams: 16, identityUserAgents: ['python-requests/'] },
      streamUiEnabled: true,
      mediawikiRedactedPages: {},
      sanitize: { visibilityStreams: ['mediawiki.revision-visibility-change'], maxSuppressedRevisions: 5000000, replayWaitMs: 15000 },
      info: { name: 'eventstreams', version: pkg.version, description: pkg.description, home: '/?doc' },
    });
  });
});

describe('every key', () => {
  it('maps each file key to ServiceConfig', async () => {
    const { config, warnings } = await load({
      name: 'my-streams',
      version: '9.9.9',
      description: 'Our streams',
      home: 'https://example.org',
      port: 9000,
      listen_address: '127.0.0.1',
      log_level: 'debug',
      kafka: {
        brokers: ['k1:9092', 'k2:9092'],
        client_id: 'me',
        fetch_max_wait_ms: 100,
        fetch_max_bytes_per_partition: 2048,
        request_timeout_ms: 5000,
      },
      stream_config_uri: 'https://meta.example.org/w/api.php?action=streamconfigs',
      stream_config_uri_options: { headers: { Host: 'meta.wikimedia.org' } },
      stream_config_object_path: 'streams',
      stream_config_defaults: { a: { stream_aliases: ['aa'] } },
      stream_config_overrides: { a: { topics: ['x.a'] } },
      stream_config_ttl: 60,
      allowed_streams: ['a', 'b'],
      streams: { b: { topics: ['t.b'], drop_canary_events: false } },
      schema_base_uris: ['schemas', 'https://schema.example.org/jsonschema'],
      drop_canary_events: false,
      max_event_bytes: 65536,
      heartbeat_interval: 5000,
      client_ip_connection_limit: 2,
      client_ip_header: 'X-Client-IP',
      client_ip_ipv6_prefix: 56,
      trusted_proxies: ['10.0.0.0/8', '2001:db8::/32', 'uniquelocal', '192.0.2.7'],
      log_client_ip: 'none',
      fanout: { mode: 'per_connection', cache_bytes_per_partition: 1000, idle_reader_ttl_ms: 5, client_backlog_bytes: 70000, catch_up_share_window: 3, max_catch_up_readers: 3, cohorts: false, total_backlog_bytes: 2000000, max_event_loop_lag_ms: 50 },
      connections: { max_duration: 60, max_duration_jitter: 0.5, reconnect_delay_ms: 250, shutdown_drain_ms: 0, max_streams: 5, max_connections: 9, accept_sockets: 4 },
      filters: { max_cost: 300, max_total_cost: 9000 },
      compression: { codings: ['zstd'], deflate_level: 1, zstd_level: 9, max_shared_histories: 7, identity_user_agents: ['sseclient-like/'] },
      stream_ui_enabled: false,
      mediawiki_redacted_pages: { 'ru.wikipedia.org': ['Some page', 1984] },
      sanitize: { visibility_streams: ['vis'], max_suppressed_revisions: 10, replay_wait_ms: 5 },
    });
    expect(warnings).toEqual([]);
    expect(config).toEqual({
      port: 9000,
      listenAddress: '127.0.0.1',
      logLevel: 'debug',
      kafka: { brokers: ['k1:9092', 'k2:9092'], clientId: 'me', fetchMaxWaitMs: 100, fetchMaxBytesPerPartition: 2048, requestTimeoutMs: 5000 },
      streamConfigUri: 'https://meta.example.org/w/api.php?action=streamconfigs',
      streamConfigHeaders: { Host: 'meta.wikimedia.org' },
      streamConfigObjectPath: 'streams',
      streamConfigDefaults: { a: { stream_aliases: ['aa'] } },
      streamConfigOverrides: { a: { topics: ['x.a'] } },
      streamConfigTtl: 60,
      allowedStreams: ['a', 'b'],
      streams: { b: { topics: ['t.b'], drop_canary_events: false } },
      schemaBaseUris: [path.join(dir, 'schemas'), 'https://schema.example.org/jsonschema'],
      dropCanaryEvents: false,
      maxEventBytes: 65536,
      heartbeatInterval: 5000,
      clientIpConnectionLimit: 2,
      clientIpHeader: 'x-client-ip',
      clientIpIpv6Prefix: 56,
      trustedProxies: ['10.0.0.0/8', '2001:db8::/32', 'uniquelocal', '192.0.2.7'],
      logClientIp: 'none',
      fanout: { mode: 'per_connection', cacheBytesPerPartition: 1000, idleReaderTtlMs: 5, clientBacklogBytes: 70000, clientStallMs: 30000, catchUpShareWindow: 3, catchUpFetchBytes: 4194304, maxCatchUpReaders: 3, replayLookaheadBytes: 262144, replayOrderWaitMs: 1000, cohorts: false, totalBacklogBytes: 2000000, maxEventLoopLagMs: 50 },
      connections: { maxDurationMs: 60000, maxDurationJitter: 0.5, reconnectDelayMs: 250, shutdownDrainMs: 0, maxStreams: 5, maxConnections: 9, acceptSockets: 4 },
      filters: { maxCost: 300, maxTotalCost: 9000 },
      compression: { codings: ['zstd'], deflateLevel: 1, zstdLevel: 9, maxSharedHistories: 7, maxSharedZstdStreams: 16, identityUserAgents: ['sseclient-like/'] },
      streamUiEnabled: false,
      mediawikiRedactedPages: { 'ru.wikipedia.org': ['Some page', '1984'] },
      sanitize: { visibilityStreams: ['vis'], maxSuppressedRevisions: 10, replayWaitMs: 5 },
      info: { name: 'my-streams', version: '9.9.9', description: 'Our streams', home: 'https://example.org' },
    });
  });

  it('accepts brokers as a comma-separated string', async () => {
    const { config } = await load({ kafka: { brokers: ' k1:9092, k2:9092 ,' } });
    expect(config.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
  });

  it("accepts librdkafka's names; ours win when both are set", async () => {
    const rdkafka = {
      'metadata.broker.list': 'a:1,b:2',
      'client.id': 'rd',
      'fetch.wait.max.ms': 250,
      'fetch.message.max.bytes': 10485760,
      'socket.timeout.ms': 60000,
    };
    const { config, warnings } = await load({ kafka: rdkafka });
    expect(config.kafka).toEqual({
      brokers: ['a:1', 'b:2'],
      clientId: 'rd',
      fetchMaxWaitMs: 250,
      fetchMaxBytesPerPartition: 10485760,
      requestTimeoutMs: 60000,
    });
    expect(warnings).toEqual([]);
    const both = await load({
      kafka: { ...rdkafka, brokers: ['c:3'], client_id: 'own', fetch_max_wait_ms: 1, fetch_max_bytes_per_partition: 2, request_timeout_ms: 3 },
    });
    expect(both.config.kafka).toEqual({ brokers: ['c:3'], clientId: 'own', fetchMaxWaitMs: 1, fetchMaxBytesPerPartition: 2, requestTimeoutMs: 3 });
  });

  it('accepts and ignores other librdkafka settings, with one warning', async () => {
    const { config, warnings } = await load({ kafka: { brokers: ['a:1'], 'queued.max.messages.kbytes': 32768, 'statistics.interval.ms': 60000 } });
    expect(config.kafka.brokers).toEqual(['a:1']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('queued.max.messages.kbytes, statistics.interval.ms');
  });

  it('maps security.protocol ssl and the ssl.* files (resolved, not read) to kafka.tls', async () => {
    const { config } = await load({
      kafka: { 'security.protocol': 'SSL', 'ssl.ca.location': 'ca.pem', 'ssl.certificate.location': '/abs/cert.pem', 'ssl.key.location': 'key.pem' },
    });
    expect(config.kafka.tls).toEqual({ caFile: path.join(dir, 'ca.pem'), certFile: '/abs/cert.pem', keyFile: path.join(dir, 'key.pem') });
    expect((await load({ kafka: { 'security.protocol': 'plaintext', 'ssl.ca.location': 'ca.pem' } })).config.kafka.tls).toBeUndefined();
    expect((await load({ kafka: { 'security.protocol': 'ssl' } })).config.kafka.tls).toEqual({});
  });

  it('maps sasl_ssl and the sasl.* keys to kafka.sasl and kafka.tls, with the secrets from the environment', async () => {
    const { config, warnings } = await load(
      { kafka: { 'security.protocol': 'SASL_SSL', 'ssl.ca.location': 'ca.pem', 'sasl.mechanisms': 'SCRAM-SHA-512', 'sasl.username': 'file-user' } },
      { KAFKA_SASL_USERNAME: 'env-user', KAFKA_SASL_PASSWORD: ' secret with spaces ' },
    );
    expect(warnings).toEqual([]);
    expect(config.kafka.sasl).toEqual({ mechanism: 'SCRAM-SHA-512', username: 'env-user', password: ' secret with spaces ' });
    expect(config.kafka.tls).toEqual({ caFile: path.join(dir, 'ca.pem') });
    const plain = await load({ kafka: { 'security.protocol': 'sasl_plaintext', 'sasl.mechanism': 'PLAIN', 'sasl.username': 'u', 'sasl.password': 'p' } });
    expect(plain.config.kafka.sasl).toEqual({ mechanism: 'PLAIN', username: 'u', password: 'p' });
    expect(plain.config.kafka.tls).toBeUndefined();
  });

  it('refuses SASL without a mechanism, user name or password, naming what is missing', async () => {
    const error = await loadError({ kafka: { 'security.protocol': 'sasl_ssl', 'sasl.username': 'u' } });
    expect(error.key).toBe('kafka.security.protocol');
    expect(error.message).toContain('kafka.sasl.mechanisms');
    expect(error.message).toContain('KAFKA_SASL_PASSWORD');
    expect(error.message).not.toContain('kafka.sasl.username');
    expect((await loadError({ kafka: { 'sasl.mechanisms': 'GSSAPI' } })).message).toContain('kafka.sasl.mechanisms');
  });

  it('warns that sasl.* keys do nothing without a SASL security.protocol', async () => {
    const { config, warnings } = await load({ kafka: { 'security.protocol': 'ssl', 'sasl.username': 'u', 'sasl.password': 'p' } });
    expect(config.kafka.sasl).toBeUndefined();
    expect(warnings.join('\n')).toMatch(/sasl\.\* settings are ignored with security.protocol ssl/);
  });

  it("takes service-runner's `interface` when listen_address is absent", async () => {
    expect((await load({ interface: '::' })).config.listenAddress).toBe('::');
    expect((await load({ interface: '::', listen_address: '127.0.0.1' })).config.listenAddress).toBe('127.0.0.1');
  });

  it('resolves relative paths against the config file directory and keeps URLs', async () => {
    const file = await write('sub/dir/config.yaml', { stream_config_uri: '../streams.yaml', schema_base_uris: ['s', '/abs/s', 'file:///x/y'] });
    const { config } = await loadConfig({ argv: [`--config=${file}`], env: {}, cwd: '/' });
    expect(config.streamConfigUri).toBe(path.join(dir, 'sub', 'streams.yaml'));
    expect(config.schemaBaseUris).toEqual([path.join(dir, 'sub', 'dir', 's'), '/abs/s', 'file:///x/y']);
    expect((await load({ stream_config_uri: 'file:///etc/streams.json' })).config.streamConfigUri).toBe('file:///etc/streams.json');
  });

  it('treats an empty stream_config_object_path as unset', async () => {
    expect((await load({ stream_config_object_path: '' })).config.streamConfigObjectPath).toBeUndefined();
  });

  it('accepts a fractional stream_config_ttl', async () => {
    expect((await load({ stream_config_ttl: 0.5 })).config.streamConfigTtl).toBe(0.5);
  });
});

describe('which file', () => {
  it('uses --config <path>, --config=<path>, then EVENTSTREAMS_CONFIG, relative to cwd', async () => {
    await write('a.yaml', { port: 1 });
    await write('b.yaml', { port: 2 });
    expect((await loadConfig({ argv: ['--config', 'a.yaml'], env: { EVENTSTREAMS_CONFIG: 'b.yaml' }, cwd: dir })).config.port).toBe(1);
    expect((await loadConfig({ argv: ['--config=a.yaml'], env: {}, cwd: dir })).config.port).toBe(1);
    const fromEnv = await loadConfig({ argv: [], env: { EVENTSTREAMS_CONFIG: 'b.yaml' }, cwd: dir });
    expect(fromEnv.config.port).toBe(2);
    expect(fromEnv.source).toBe(path.join(dir, 'b.yaml'));
  });

  it('falls back to the shipped config/config.yaml', async () => {
    expect(DEFAULT_CONFIG_FILE).toBe(path.join(repoRoot, 'config', 'config.yaml'));
    const { source } = await loadConfig({ argv: [], env: { EVENTSTREAMS_CONFIG: '' }, cwd: dir });
    expect(source).toBe(DEFAULT_CONFIG_FILE);
  });

  it('rejects --config without a value', () => {
    expect(() => configFileArgument(['--config'])).toThrow(ConfigError);
    expect(() => configFileArgument(['--config', '--other'])).toThrow(/--config needs a file path/);
    expect(() => configFileArgument(['--config='])).toThrow(ConfigError);
    expect(configFileArgument(['x', '--config', 'a', '--config=b'])).toBe('b');
    expect(configFileArgument([])).toBeUndefined();
  });

  it('names a missing file', async () => {
    const missing = path.join(dir, 'nope.yaml');
    const error = await loadConfig({ argv: ['--config', missing], env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(configErrorMessage(error)).toContain(`Cannot read configuration file ${missing}`);
    expect((error as ConfigError).file).toBe(missing);
  });

  it('names a file with broken YAML', async () => {
    const error = await loadError('port: [1,\n');
    expect(error.message).toContain(`Cannot parse configuration file ${path.join(dir, 'config.yaml')}`);
  });

  it('rejects a document that is not a mapping', async () => {
    expect((await loadError('- a\n- b\n')).message).toMatch(/\(root\): must be object/);
  });
});

describe('service-runner files', () => {
  it('takes the first service conf, its name and the log level', async () => {
    const { config, warnings } = await load({
      num_workers: 0,
      logging: { level: 'warn' },
      services: [{ name: 'eventstreams-x', module: './app.js', conf: { port: 8000, kafka: { 'metadata.broker.list': 'localhost:9092' } } }],
    });
    expect(config.port).toBe(8000);
    expect(config.kafka.brokers).toEqual(['localhost:9092']);
    expect(config.info.name).toBe('eventstreams-x');
    expect(config.logLevel).toBe('warn');
    expect(warnings).toEqual([]);
  });

  it('rejects an empty services list or a service without conf', async () => {
    expect((await loadError({ services: [] })).key).toBe('services');
    expect((await loadError({ services: [{ name: 'x' }] })).message).toContain('services.0.conf: must be object');
  });
});

describe('unknown and invalid keys', () => {
  it('warns about unknown top-level keys without failing', async () => {
    const { config, warnings } = await load({ port: 1, spec: './spec.yaml', cors: '*' });
    expect(config.port).toBe(1);
    expect(warnings).toEqual([
      `${path.join(dir, 'config.yaml')}: unknown key "spec" ignored`,
      `${path.join(dir, 'config.yaml')}: unknown key "cors" ignored`,
    ]);
  });

  it.each([
    [{ kafka: { brokers: 5 } }, 'kafka.brokers', 'must be array or string'],
    [{ kafka: { brokers: [''] } }, 'kafka.brokers.0', 'must NOT have fewer than 1 characters'],
    [{ kafka: 'localhost:9092' }, 'kafka', 'must be object'],
    [{ kafka: { fetch_max_wait_ms: 1.5 } }, 'kafka.fetch_max_wait_ms', 'must be integer'],
    [{ kafka: { 'metadata.broker.list': 9 } }, 'kafka.metadata.broker.list', 'must be array or string'],
    [{ kafka: { 'security.protocol': 'tls' } }, 'kafka.security.protocol', 'must be one of'],
    [{ port: 'eighty' }, 'port', 'must be integer'],
    [{ port: 70000 }, 'port', 'must be <= 65535'],
    [{ log_level: 'verbose' }, 'log_level', 'must be one of "fatal", "error"'],
    [{ listen_address: '' }, 'listen_address', 'must NOT have fewer than 1 characters'],
    [{ stream_config_uri: 42 }, 'stream_config_uri', 'must be string'],
    [{ stream_config_uri_options: { headers: { Host: 1 } } }, 'stream_config_uri_options.headers.Host', 'must be string'],
    [{ stream_config_ttl: -1 }, 'stream_config_ttl', 'must be >= 0'],
    [{ allowed_streams: 'mediawiki.recentchange' }, 'allowed_streams', 'must be array'],
    [{ streams: { s: { topics: 'a' } } }, 'streams.s.topics', 'must be array'],
    [{ stream_config_defaults: { s: { stream_aliases: [1] } } }, 'stream_config_defaults.s.stream_aliases.0', 'must be string'],
    [{ stream_config_overrides: { s: 'x' } }, 'stream_config_overrides.s', 'must be object'],
    [{ schema_base_uris: 'schemas' }, 'schema_base_uris', 'must be array'],
    [{ drop_canary_events: 'yes' }, 'drop_canary_events', 'must be boolean'],
    [{ heartbeat_interval: -5 }, 'heartbeat_interval', 'must be >= 0'],
    [{ client_ip_connection_limit: 1.5 }, 'client_ip_connection_limit', 'must be integer'],
    [{ client_ip_header: '' }, 'client_ip_header', 'must NOT have fewer than 1 characters'],
    [{ client_ip_ipv6_prefix: 129 }, 'client_ip_ipv6_prefix', 'must be <= 128'],
    [{ trusted_proxies: '10.0.0.0/8' }, 'trusted_proxies', 'must be array'],
    [{ trusted_proxies: ['10.0.0.0/33'] }, 'trusted_proxies', 'must be IP addresses, CIDRs or loopback'],
    [{ trusted_proxies: ['proxy.example.org'] }, 'trusted_proxies', 'must be IP addresses, CIDRs or loopback'],
    [{ stream_ui_enabled: 1 }, 'stream_ui_enabled', 'must be boolean'],
    [{ fanout: { mode: 'each' } }, 'fanout.mode', 'must be one of "shared", "per_connection"'],
    [{ fanout: { client_backlog_bytes: 10 } }, 'fanout.client_backlog_bytes', 'must be >= 65536'],
    [{ connections: { max_duration_jitter: 2 } }, 'connections.max_duration_jitter', 'must be <= 1'],
    [{ connections: { max_duration: -1 } }, 'connections.max_duration', 'must be >= 0'],
    [{ connections: { max_streams: 100, max_connections: 99 } }, 'connections.max_connections', 'must be at least connections.max_streams (100), not 99: every stream holds a connection'],
    [{ mediawiki_redacted_pages: { 'ru.wikipedia.org': 'x' } }, 'mediawiki_redacted_pages.ru.wikipedia.org', 'must be array'],
    [{ name: 7 }, 'name', 'must be string'],
  ])('fails on %j naming the file and %s', async (content, key, text) => {
    const error = await loadError(content);
    expect(error.key).toBe(key);
    expect(error.variable).toBeUndefined();
    expect(error.message).toContain(`Invalid configuration file ${path.join(dir, 'config.yaml')}`);
    expect(error.message).toContain(`${key}: ${text}`);
  });

  it('lists several problems in one message', async () => {
    const error = await loadError({ port: 'x', kafka: { brokers: 5 } });
    expect(error.message).toMatch(/port: must be integer; kafka\.brokers: must be array or string/);
  });
});

describe('environment overrides', () => {
  it('each variable replaces its key', async () => {
    const { config } = await load(
      { port: 1, listen_address: '::', kafka: { brokers: ['file:1'] }, log_level: 'info', stream_config_uri: 'file.json', heartbeat_interval: 1, client_ip_connection_limit: 1, filters: { max_cost: 1, max_total_cost: 1 } },
      {
        PORT: '8100',
        LISTEN_ADDRESS: '127.0.0.1',
        KAFKA_BROKERS: 'env1:9092, env2:9092',
        LOG_LEVEL: 'trace',
        STREAM_CONFIG_URI: 'other/streams.json',
        HEARTBEAT_INTERVAL: '2500',
        CLIENT_IP_CONNECTION_LIMIT: '3',
        FILTERS_MAX_COST: '500',
        FILTERS_MAX_TOTAL_COST: '50000',
        MAX_STREAMS: '20',
        MAX_CONNECTIONS: '30',
      },
    );
    expect(config.port).toBe(8100);
    expect(config.listenAddress).toBe('127.0.0.1');
    expect(config.kafka.brokers).toEqual(['env1:9092', 'env2:9092']);
    expect(config.logLevel).toBe('trace');
    // A path typed in the environment is relative to the working directory (cwd = dir here).
    expect(config.streamConfigUri).toBe(path.join(dir, 'other', 'streams.json'));
    expect(config.heartbeatInterval).toBe(2500);
    expect(config.clientIpConnectionLimit).toBe(3);
    expect(config.filters).toEqual({ maxCost: 500, maxTotalCost: 50000 });
    expect([config.connections.maxStreams, config.connections.maxConnections]).toEqual([20, 30]);
  });

  it('STREAM_CONFIG_URI relative to cwd, not to the config file; URLs kept', async () => {
    const file = await write('conf/config.yaml', {});
    const rel = await loadConfig({ argv: ['--config', file], env: { STREAM_CONFIG_URI: 's.json' }, cwd: '/srv' });
    expect(rel.config.streamConfigUri).toBe('/srv/s.json');
    const url = await loadConfig({ argv: ['--config', file], env: { STREAM_CONFIG_URI: 'http://h/x' }, cwd: '/srv' });
    expect(url.config.streamConfigUri).toBe('http://h/x');
  });

  it('an explicitly empty KAFKA_BROKERS means no brokers (demo mode), over both broker keys', async () => {
    const { config } = await load({ kafka: { brokers: 'a:1', 'metadata.broker.list': 'b:2' } }, { KAFKA_BROKERS: '' });
    expect(config.kafka.brokers).toEqual([]);
    const rdOnly = await load({ kafka: { 'metadata.broker.list': 'b:2' } }, { KAFKA_BROKERS: 'c:3' });
    expect(rdOnly.config.kafka.brokers).toEqual(['c:3']);
  });

  it('ignores empty values of the other variables', async () => {
    const { config } = await load({ port: 1234 }, { PORT: '', LOG_LEVEL: ' ', HEARTBEAT_INTERVAL: '' });
    expect(config.port).toBe(1234);
    expect(config.logLevel).toBe('info');
  });

  it.each([
    ['PORT', 'abc', 'must be an integer (got "abc")'],
    ['PORT', '70000', 'must be <= 65535'],
    ['HEARTBEAT_INTERVAL', '1.5', 'must be an integer'],
    ['CLIENT_IP_CONNECTION_LIMIT', '-1', 'must be >= 0'],
    ['FILTERS_MAX_COST', '0', 'must be >= 1'],
    ['FILTERS_MAX_TOTAL_COST', 'lots', 'must be an integer'],
    ['LOG_LEVEL', 'verbose', 'must be one of'],
  ])('%s=%j fails naming the variable', async (variable, value, text) => {
    const error = await loadError({}, { [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(`Invalid environment variable ${variable}: ${text}`);
  });
});

describe('the schema', () => {
  it('describes every key', () => {
    const missing: string[] = [];
    const walk = (node: unknown, where: string): void => {
      if (typeof node !== 'object' || node === null) return;
      const schema = node as Record<string, unknown>;
      if (where !== '' && typeof schema['description'] !== 'string') missing.push(where);
      for (const [name, child] of Object.entries((schema['properties'] as Record<string, unknown> | undefined) ?? {})) {
        walk(child, `${where}.${name}`);
      }
      if (typeof schema['items'] === 'object') walk(schema['items'], `${where}[]`);
      if (typeof schema['additionalProperties'] === 'object') walk(schema['additionalProperties'], `${where}.*`);
      for (const [name, child] of Object.entries((schema['$defs'] as Record<string, unknown> | undefined) ?? {})) {
        walk(child, `$defs.${name}`);
      }
    };
    walk(configSchema, '');
    expect(missing).toEqual([]);
  });
});

describe('real configurations', () => {
  it('the shipped config loads in demo mode and points only inside the repo', async () => {
    const { config, warnings, source } = await loadConfig({ argv: [], env: {} });
    expect(source).toBe(DEFAULT_CONFIG_FILE);
    expect(warnings).toEqual([]);
    expect(config.kafka.brokers).toEqual([]);
    expect(config.port).toBe(8092);
    expect(config.streamConfigUri).toBe(path.join(repoRoot, 'config', 'stream-config.json'));
    expect(config.streamConfigObjectPath).toBe('streams');
    expect(config.schemaBaseUris).toEqual([path.join(repoRoot, 'config', 'schemas')]);
    for (const p of [config.streamConfigUri ?? '', ...config.schemaBaseUris]) {
      expect(p.startsWith(repoRoot + path.sep)).toBe(true);
      expect(existsSync(p)).toBe(true);
    }
    expect(config.allowedStreams).toHaveLength(21);
    expect(config.streamConfigDefaults['mediawiki.recentchange']?.stream_aliases).toEqual(['recentchange']);
  });

  it("loads production EventStreams' `config.conf` (values.yaml + values-eqiad.yaml)", async () => {
    const valuesText = await readFile(path.join(deploymentDir, 'deployment-charts.eventstreams.values.yaml'), 'utf8');
    const base = parseYaml(indentFlowContinuations(valuesText)) as {
      config: { conf: Record<string, unknown> };
    };
    const eqiad = parseYaml(await readFile(path.join(deploymentDir, 'deployment-charts.eventstreams.values-eqiad.yaml'), 'utf8')) as {
      config: { conf: { kafka: Record<string, unknown>; stream_config_overrides: unknown } };
    };
    // helm merges the site file over the common one.
    const conf = {
      ...base.config.conf,
      kafka: { ...(base.config.conf['kafka'] as Record<string, unknown>), ...eqiad.config.conf.kafka },
      stream_config_overrides: eqiad.config.conf.stream_config_overrides,
    };
    const { config, warnings } = await load(conf);
    expect(config.kafka.brokers).toHaveLength(5);
    expect(config.kafka.brokers[0]).toBe('kafka-main1006.eqiad.wmnet:9093');
    expect(config.kafka.fetchMaxBytesPerPartition).toBe(10485760);
    expect(config.kafka.tls).toEqual({ caFile: '/etc/ssl/certs/wmf-ca-certificates.crt' });
    expect(config.clientIpConnectionLimit).toBe(2);
    expect(config.streamConfigUri).toBe('http://localhost:6500/w/api.php?format=json&action=streamconfigs');
    expect(config.streamConfigHeaders).toEqual({ Host: 'meta.wikimedia.org' });
    expect(config.streamConfigObjectPath).toBe('streams');
    expect(config.streamUiEnabled).toBe(true);
    expect(config.allowedStreams).toHaveLength(21);
    expect(config.streamConfigDefaults['eventgate-main.test.event']?.stream_aliases).toEqual(['test']);
    expect(config.streamConfigOverrides['rdf-streaming-updater.mutation.v2']?.topics).toEqual(['eqiad.rdf-streaming-updater.mutation']);
    expect(config.mediawikiRedactedPages['ru.wikipedia.org']?.length).toBeGreaterThan(1000);
    // Only the librdkafka tuning we do not use is reported.
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/kafka settings not used by this service, ignored: queued\.max\.messages\.kbytes/);

    // The same conf wrapped the way service-runner expects it.
    const wrapped = await load({ services: [{ name: 'eventstreams', conf }] });
    expect(wrapped.config).toEqual(config);
  });
});
