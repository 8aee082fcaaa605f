import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CatalogueHolder, type Logger } from '../../src/catalogue/holder.ts';
import { CatalogueError, createCatalogue, loadCatalogue } from '../../src/catalogue/load.ts';
import { mergeSettings } from '../../src/catalogue/merge.ts';
import type { StreamCatalogue, StreamConfig } from '../../src/catalogue/types.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { ServiceConfig } from '../../src/config/types.ts';

let dir: string;
const servers: Server[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'es-catalogue-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

function config(overrides: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    port: 0,
    listenAddress: '127.0.0.1',
    logLevel: 'silent',
    kafka: { brokers: [], clientId: 't', fetchMaxWaitMs: 500, fetchMaxBytesPerPartition: 1 << 20, requestTimeoutMs: 1000 },
    streamConfigHeaders: {},
    streamConfigDefaults: {},
    streamConfigOverrides: {},
    streamConfigTtl: 0,
    streams: {},
    schemaBaseUris: [],
    dropCanaryEvents: true,
    maxEventBytes: 1 << 20,
    heartbeatInterval: 15000,
    clientIpConnectionLimit: 0,
    clientIpIpv6Prefix: 64,
    trustedProxies: ['loopback'],
    logClientIp: 'full',
    fanout: { mode: 'shared', cacheBytesPerPartition: 1 << 20, idleReaderTtlMs: 0, clientBacklogBytes: 1 << 20, clientStallMs: 30000, catchUpShareWindow: 0, catchUpFetchBytes: 1 << 20, maxCatchUpReaders: 16, replayLookaheadBytes: 262144, replayOrderWaitMs: 1000, cohorts: true, totalBacklogBytes: 1 << 28, maxEventLoopLagMs: 1000 },
    connections: { maxDurationMs: 0, maxDurationJitter: 0, reconnectDelayMs: 0, shutdownDrainMs: 0, maxStreams: 0, maxConnections: 0, acceptSockets: 1 },
    filters: { maxCost: 2000, maxTotalCost: 100000 },
    compression: { codings: ['gzip', 'deflate', 'zstd'], deflateLevel: 6, zstdLevel: 3, maxSharedHistories: 1000, maxSharedZstdStreams: 16, identityUserAgents: [] },
    streamUiEnabled: true,
    mediawikiRedactedPages: {},
    sanitize: { visibilityStreams: [], maxSuppressedRevisions: 1000, replayWaitMs: 0 },
    info: { name: 't', version: '0', description: '', home: '' },
    ...overrides,
  };
}

async function writeDoc(name: string, doc: unknown): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return file;
}

/** The shape MediaWiki's action=streamconfigs returns. */
const apiDoc = {
  streams: {
    'mediawiki.recentchange': { schema_title: 'mediawiki/recentchange', topic_prefixes: ['eqiad.', 'codfw.'], destination_event_service: 'eventgate-main' },
    'mediawiki.revision-create': { schema_title: 'mediawiki/revision/create', topics: ['eqiad.mediawiki.revision-create'] },
    'mediawiki.page-suppress': { schema_title: 'mediawiki/page/delete', topic_prefixes: ['eqiad.'] },
    '/^mediawiki\\.job\\..+/': { schema_title: 'mediawiki/job' },
  },
};

async function serveRaw(listener: RequestListener): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function serve(handler: (url: string, headers: IncomingHttpHeaders) => { status: number; body: string }): Promise<string> {
  return serveRaw((req, res) => {
    const { status, body } = handler(req.url ?? '', req.headers);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  });
}

const stream = (name: string, extra: Partial<StreamConfig> = {}): StreamConfig => ({
  name,
  aliases: [],
  topics: [`t.${name}`],
  dropCanaryEvents: true,
  ...extra,
});

describe('createCatalogue', () => {
  it('finds streams by name and alias', () => {
    const catalogue = createCatalogue([stream('a', { aliases: ['x', 'y'] }), stream('b')]);
    expect(catalogue.streams.map((s) => s.name)).toEqual(['a', 'b']);
    expect(catalogue.get('a')?.name).toBe('a');
    expect(catalogue.get('x')?.name).toBe('a');
    expect(catalogue.get('y')).toBe(catalogue.get('a'));
    expect(catalogue.get('b')?.topics).toEqual(['t.b']);
    expect(catalogue.get('c')).toBeUndefined();
    expect(catalogue.get('toString')).toBeUndefined();
  });

  it('is immutable and does not share arrays with its input', () => {
    const input = stream('a', { aliases: ['x'] });
    const catalogue = createCatalogue([input]);
    input.topics.push('changed');
    expect(catalogue.get('a')?.topics).toEqual(['t.a']);
    expect(Object.isFrozen(catalogue.streams)).toBe(true);
    expect(Object.isFrozen(catalogue.get('a'))).toBe(true);
    expect(Object.isFrozen(catalogue.get('a')?.topics)).toBe(true);
  });

  it('drops an alias equal to the stream name and duplicate aliases', () => {
    expect(createCatalogue([stream('a', { aliases: ['a', 'x', 'x'] })]).get('a')?.aliases).toEqual(['x']);
  });

  it('rejects duplicate names', () => {
    expect(() => createCatalogue([stream('a'), stream('a')])).toThrow(new CatalogueError('Duplicate stream name "a"'));
  });

  it('rejects a stream without topics', () => {
    expect(() => createCatalogue([stream('a', { topics: [] })])).toThrow('Stream "a" has no topics');
  });

  it("rejects an alias equal to another stream's name, in either order", () => {
    expect(() => createCatalogue([stream('a', { aliases: ['b'] }), stream('b')])).toThrow('Alias "b" of stream "a" collides with stream "b"');
    expect(() => createCatalogue([stream('b'), stream('a', { aliases: ['b'] })])).toThrow('Alias "b" of stream "a" collides with stream "b"');
  });

  it("rejects an alias equal to another stream's alias", () => {
    expect(() => createCatalogue([stream('a', { aliases: ['x'] }), stream('b', { aliases: ['x'] })])).toThrow(
      'Alias "x" of stream "b" collides with an alias of stream "a"',
    );
  });
});

describe('mergeSettings', () => {
  it('later layers win, objects merge deeply, lists replace, inputs untouched', () => {
    const base = { topics: ['a', 'b'], consumers: { x: { enabled: true, n: 1 } } };
    const merged = mergeSettings(undefined, base, { topics: ['c'], consumers: { x: { n: 2 } } });
    expect(merged).toEqual({ topics: ['c'], consumers: { x: { enabled: true, n: 2 } } });
    expect(base.topics).toEqual(['a', 'b']);
    expect(base.consumers.x.n).toBe(1);
  });

  it('ignores __proto__ keys from parsed JSON', () => {
    const merged = mergeSettings(JSON.parse('{"__proto__": {"polluted": true}, "topics": ["a"]}') as Record<string, unknown>);
    expect(merged).toEqual({ topics: ['a'] });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('loadCatalogue', () => {
  it('reads a file at stream_config_object_path, derives topics, skips regex names', async () => {
    const uri = await writeDoc('streams.json', apiDoc);
    const warn = vi.fn();
    const catalogue = await loadCatalogue(config({ streamConfigUri: uri, streamConfigObjectPath: 'streams' }), { warn });
    expect(catalogue.streams.map((s) => s.name)).toEqual(['mediawiki.page-suppress', 'mediawiki.recentchange', 'mediawiki.revision-create']);
    expect(catalogue.get('mediawiki.recentchange')).toEqual({
      name: 'mediawiki.recentchange',
      aliases: [],
      topics: ['eqiad.mediawiki.recentchange', 'codfw.mediawiki.recentchange'],
      schemaTitle: 'mediawiki/recentchange',
      dropCanaryEvents: true,
    });
    // Explicit topics win over prefixes.
    expect(catalogue.get('mediawiki.revision-create')?.topics).toEqual(['eqiad.mediawiki.revision-create']);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('/^mediawiki\\.job\\..+/'));
  });

  it('reads file:// URLs, YAML documents and dotted object paths', async () => {
    const file = await writeDoc('streams.yaml', 'result:\n  data:\n    s1:\n      topics: [one]\n      $schema: /test/event/1.0.0\n');
    const catalogue = await loadCatalogue(config({ streamConfigUri: pathToFileURL(file).href, streamConfigObjectPath: 'result.data' }));
    expect(catalogue.get('s1')).toEqual({ name: 's1', aliases: [], topics: ['one'], schemaUri: '/test/event/1.0.0', dropCanaryEvents: true });
  });

  it('uses the whole document when no object path is set', async () => {
    const uri = await writeDoc('streams.json', { s1: { topics: ['one'] } });
    expect((await loadCatalogue(config({ streamConfigUri: uri }))).get('s1')?.topics).toEqual(['one']);
  });

  it('merges defaults under, overrides over and inline streams on top', async () => {
    const uri = await writeDoc('streams.json', {
      streams: {
        s1: { topics: ['doc.s1'], description: 'from doc', stream_aliases: ['doc-alias'] },
        s2: { topic_prefixes: ['eqiad.', 'codfw.'] },
      },
    });
    const catalogue = await loadCatalogue(
      config({
        streamConfigUri: uri,
        streamConfigObjectPath: 'streams',
        streamConfigDefaults: {
          s1: { description: 'default', schema_title: 'default/title' },
          s2: { stream_aliases: ['two'], description: 'S2' },
          'only-in-defaults': { topics: ['x'] },
        },
        streamConfigOverrides: { s2: { topics: ['codfw.s2'], topics_allowed: ['eqiad.s2', 'codfw.s2'] } },
        streams: { s1: { stream_aliases: ['one'] }, inline: { topics: ['inline.t'], drop_canary_events: false } },
      }),
    );
    expect(catalogue.streams.map((s) => s.name)).toEqual(['inline', 's1', 's2']);
    expect(catalogue.get('one')).toMatchObject({ name: 's1', description: 'from doc', schemaTitle: 'default/title', aliases: ['one'], topics: ['doc.s1'] });
    expect(catalogue.get('doc-alias')).toBeUndefined();
    expect(catalogue.get('two')).toMatchObject({ name: 's2', description: 'S2', topics: ['codfw.s2'], topicsAllowed: ['codfw.s2', 'eqiad.s2'] });
    expect(catalogue.get('inline')).toMatchObject({ topics: ['inline.t'], dropCanaryEvents: false });
    // Defaults do not create streams the source does not have.
    expect(catalogue.get('only-in-defaults')).toBeUndefined();
  });

  it('serves inline streams without any stream_config_uri', async () => {
    const catalogue = await loadCatalogue(config({ streams: { b: { topics: ['tb'] }, a: { topic_prefixes: ['p.'] } } }));
    expect(catalogue.streams.map((s) => [s.name, s.topics])).toEqual([
      ['a', ['p.a']],
      ['b', ['tb']],
    ]);
  });

  it('filters by allowed_streams and reports allowed names that do not exist', async () => {
    const uri = await writeDoc('streams.json', apiDoc);
    const warn = vi.fn();
    const catalogue = await loadCatalogue(
      config({ streamConfigUri: uri, streamConfigObjectPath: 'streams', allowedStreams: ['mediawiki.recentchange', 'mediawiki.nope'] }),
      { warn },
    );
    expect(catalogue.streams.map((s) => s.name)).toEqual(['mediawiki.recentchange']);
    expect(warn).toHaveBeenCalledWith('allowed_streams not found in the stream config: mediawiki.nope');
  });

  it('applies the global canary default unless the stream sets drop_canary_events', async () => {
    const streams = { keep: { topics: ['k'], drop_canary_events: false }, drop: { topics: ['d'], drop_canary_events: true }, plain: { topics: ['p'] } };
    const on = await loadCatalogue(config({ streams }));
    expect([on.get('keep'), on.get('drop'), on.get('plain')].map((s) => s?.dropCanaryEvents)).toEqual([false, true, true]);
    const off = await loadCatalogue(config({ streams, dropCanaryEvents: false }));
    expect([off.get('keep'), off.get('drop'), off.get('plain')].map((s) => s?.dropCanaryEvents)).toEqual([false, true, false]);
  });

  it.each([
    [{ s: { schema_title: 'x' } }, 'Stream "s" has no topics: set "topics" or "topic_prefixes"'],
    [{ s: { topics: [] } }, 'Stream "s" has no topics'],
    [{ s: { topics: 'a' } }, 'Stream "s": topics must be a list of non-empty strings'],
    [{ s: { topic_prefixes: [1] } }, 'Stream "s": topic_prefixes must be a list of non-empty strings'],
    [{ s: { topics: ['a'], stream_aliases: 'x' } }, 'Stream "s": stream_aliases must be a list'],
    [{ s: { topics: ['a'], description: 5 } }, 'Stream "s": description must be a string'],
    [{ s: { topics: ['a'], drop_canary_events: 'no' } }, 'Stream "s": drop_canary_events must be true or false'],
    [{ s: 'topics' }, 'Stream "s" in '],
    [{ a: { topics: ['a'], stream_aliases: ['b'] }, b: { topics: ['b'] } }, 'Alias "b" of stream "a" collides with stream "b"'],
    [{ a: { topics: ['a'], stream_aliases: ['x'] }, b: { topics: ['b'], stream_aliases: ['x'] } }, 'Alias "x" of stream "b" collides with an alias of stream "a"'],
  ])('rejects %j naming the stream', async (streams, message) => {
    const uri = await writeDoc('streams.json', streams);
    const error: unknown = await loadCatalogue(config({ streamConfigUri: uri })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CatalogueError);
    expect((error as Error).message).toContain(message);
  });

  it('names the source when it is missing, unparsable or has no streams object', async () => {
    const missing = path.join(dir, 'missing.json');
    await expect(loadCatalogue(config({ streamConfigUri: missing }))).rejects.toThrow(`Cannot load stream config from ${missing}: not found`);
    const broken = await writeDoc('broken.json', '{"streams": [');
    await expect(loadCatalogue(config({ streamConfigUri: broken }))).rejects.toThrow(`Cannot load stream config from ${broken}: Cannot parse`);
    const noPath = await writeDoc('nopath.json', { other: {} });
    await expect(loadCatalogue(config({ streamConfigUri: noPath, streamConfigObjectPath: 'streams' }))).rejects.toThrow(
      `Stream config ${noPath} has no object of streams at "streams"`,
    );
    await expect(loadCatalogue(config({ streamConfigUri: 'ftp://x/y' }))).rejects.toThrow(/Unsupported URI scheme/);
  });

  it('fails when nothing is left to serve', async () => {
    const uri = await writeDoc('streams.json', apiDoc);
    await expect(loadCatalogue(config({ streamConfigUri: uri, streamConfigObjectPath: 'streams', allowedStreams: ['x'] }))).rejects.toThrow(
      /No streams to serve from .* after applying allowed_streams/,
    );
    await expect(loadCatalogue(config())).rejects.toThrow('No streams to serve from the inline streams');
  });

  it('fetches over http with the configured headers (including Host)', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const base = await serve((url, headers) => {
      seen.push(headers);
      return url === '/w/api.php?format=json&action=streamconfigs' ? { status: 200, body: JSON.stringify(apiDoc) } : { status: 404, body: '{}' };
    });
    const catalogue = await loadCatalogue(
      config({
        streamConfigUri: `${base}/w/api.php?format=json&action=streamconfigs`,
        streamConfigHeaders: { Host: 'meta.wikimedia.org', 'X-Test': 'yes' },
        streamConfigObjectPath: 'streams',
      }),
    );
    expect(catalogue.get('mediawiki.recentchange')?.topics).toEqual(['eqiad.mediawiki.recentchange', 'codfw.mediawiki.recentchange']);
    expect(seen[0]?.host).toBe('meta.wikimedia.org');
    expect(seen[0]?.['x-test']).toBe('yes');
  });

  it('follows http redirects', async () => {
    const base = await serveRaw((req, res) => {
      if (req.url === '/old') res.writeHead(301, { location: '/new' }).end();
      else res.writeHead(200).end(JSON.stringify({ s: { topics: [`t${req.url ?? ''}`] } }));
    });
    expect((await loadCatalogue(config({ streamConfigUri: `${base}/old` }))).get('s')?.topics).toEqual(['t/new']);
  });

  it('reports http errors with the status', async () => {
    const base = await serve(() => ({ status: 503, body: 'down' }));
    await expect(loadCatalogue(config({ streamConfigUri: `${base}/streams` }))).rejects.toThrow(`Cannot load stream config from ${base}/streams: GET ${base}/streams failed: HTTP 503`);
    const notFound = await serve(() => ({ status: 404, body: '' }));
    await expect(loadCatalogue(config({ streamConfigUri: `${notFound}/x` }))).rejects.toThrow('not found');
  });

  it('never puts the credentials of a stream_config_uri in its errors (they are logged)', async () => {
    const base = await serve(() => ({ status: 503, body: 'down' }));
    const withCredentials = base.replace('://', '://bot:s3cr3t-token@');
    const error = await loadCatalogue(config({ streamConfigUri: `${withCredentials}/streams` })).catch((e: unknown) => e);
    expect(String(error)).toContain(`Cannot load stream config from ${base}/streams: GET ${base}/streams failed: HTTP 503`);
    expect(String(error)).not.toContain('s3cr3t');
  });

  it('uses an injected fetch', async () => {
    const fetchStub = vi.fn(async () => new Response(JSON.stringify({ s: { topics: ['t'] } })));
    const catalogue = await loadCatalogue(config({ streamConfigUri: 'https://example.invalid/streams' }), { fetch: fetchStub });
    expect(catalogue.get('s')?.topics).toEqual(['t']);
    expect(fetchStub).toHaveBeenCalledOnce();
  });
});

describe('the shipped configuration', () => {
  const production = [
    'eventgate-main.test.event',
    'mediainfo-streaming-updater.mutation.v2',
    'mediawiki.page-create',
    'mediawiki.page-delete',
    'mediawiki.page-links-change',
    'mediawiki.page-move',
    'mediawiki.page-properties-change',
    'mediawiki.page-undelete',
    'mediawiki.page_change.v1',
    'mediawiki.page_html_feature_counts_change.v1',
    'mediawiki.page_outlink_topic_prediction_change.v1',
    'mediawiki.page_revert_risk_multilingual_prediction_change.v1',
    'mediawiki.page_revert_risk_prediction_change.v1',
    'mediawiki.page_revert_risk_wikidata_prediction_change.v1',
    'mediawiki.recentchange',
    'mediawiki.revision-create',
    'mediawiki.revision-tags-change',
    'mediawiki.revision-visibility-change',
    'rdf-streaming-updater.mutation-main.v2',
    'rdf-streaming-updater.mutation-scholarly.v2',
    'rdf-streaming-updater.mutation.v2',
  ];

  it('yields the production stream list, aliases and topics', async () => {
    const { config: shipped } = await loadConfig({ argv: [], env: {} });
    const warn = vi.fn();
    const catalogue = await loadCatalogue(shipped, { warn });
    expect(warn).not.toHaveBeenCalled();
    expect(catalogue.streams.map((s) => s.name)).toEqual(production);
    expect(catalogue.get('recentchange')?.name).toBe('mediawiki.recentchange');
    expect(catalogue.get('recentchange')?.topics).toEqual(['eqiad.mediawiki.recentchange', 'codfw.mediawiki.recentchange']);
    for (const alias of ['page-create', 'page-delete', 'page-links-change', 'page-move', 'page-properties-change', 'page-undelete', 'revision-create']) {
      expect(catalogue.get(alias)?.name).toBe(`mediawiki.${alias}`);
    }
    expect(catalogue.get('test')?.name).toBe('eventgate-main.test.event');
    expect(catalogue.get('page-create')?.description).toMatch(/first revision create event/);
    expect(catalogue.get('mediawiki.page_change.v1')).toMatchObject({ schemaTitle: 'mediawiki/page/change', topics: ['eqiad.mediawiki.page_change.v1', 'codfw.mediawiki.page_change.v1'] });
    expect(catalogue.get('rdf-streaming-updater.mutation.v2')?.topics).toEqual(['eqiad.rdf-streaming-updater.mutation', 'codfw.rdf-streaming-updater.mutation']);
    // Never public.
    expect(catalogue.get('mediawiki.page-suppress')).toBeUndefined();
    expect(catalogue.get('mediawiki.revision-score')).toBeUndefined();
    expect(catalogue.streams.every((s) => s.dropCanaryEvents)).toBe(true);
  });

  it("with production's eqiad values served over http, the DC overrides pick one topic and allow both", async () => {
    const document = await readFile(path.resolve(import.meta.dirname, '../../config/stream-config.json'), 'utf8');
    const base = await serve((url, headers) => (headers.host === 'meta.wikimedia.org' && url.startsWith('/w/api.php') ? { status: 200, body: document } : { status: 404, body: '' }));
    const { config: shipped } = await loadConfig({ argv: [], env: { STREAM_CONFIG_URI: `${base}/w/api.php?format=json&action=streamconfigs` } });
    const catalogue = await loadCatalogue({
      ...shipped,
      streamConfigHeaders: { Host: 'meta.wikimedia.org' },
      streamConfigOverrides: { 'rdf-streaming-updater.mutation.v2': { topics: ['eqiad.rdf-streaming-updater.mutation'] } },
    });
    expect(catalogue.get('rdf-streaming-updater.mutation.v2')).toMatchObject({
      topics: ['eqiad.rdf-streaming-updater.mutation'],
      topicsAllowed: ['eqiad.rdf-streaming-updater.mutation', 'codfw.rdf-streaming-updater.mutation'],
    });
    expect(catalogue.streams).toHaveLength(production.length);
  });
});

describe('CatalogueHolder', () => {
  function recordingLogger(): Logger & { lines: { level: string; args: unknown[] }[] } {
    const lines: { level: string; args: unknown[] }[] = [];
    const log =
      (level: string) =>
      (...args: unknown[]): void => {
        lines.push({ level, args });
      };
    return { lines, info: log('info'), warn: log('warn'), error: log('error') };
  }

  async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
    const start = Date.now();
    while (!check()) {
      if (Date.now() - start > timeoutMs) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('loads at start and reloads a changed file every ttl', async () => {
    const uri = await writeDoc('streams.json', { a: { topics: ['ta'] } });
    const logger = recordingLogger();
    const holder = new CatalogueHolder(config({ streamConfigUri: uri, streamConfigTtl: 0.02 }), logger);
    expect(() => holder.current()).toThrow(/before start/);
    const changes: StreamCatalogue[] = [];
    holder.onChange((c) => changes.push(c));
    await holder.start();
    expect(holder.current().get('a')?.topics).toEqual(['ta']);

    await writeDoc('streams.json', { a: { topics: ['ta2'] }, b: { topics: ['tb'] } });
    await until(() => holder.current().get('b') !== undefined);
    expect(holder.current().get('a')?.topics).toEqual(['ta2']);
    expect(changes.at(-1)).toBe(holder.current());
    holder.stop();
  });

  it('keeps the previous catalogue and warns when a reload fails', async () => {
    const uri = await writeDoc('streams.json', { a: { topics: ['ta'] } });
    const logger = recordingLogger();
    const holder = new CatalogueHolder(config({ streamConfigUri: uri, streamConfigTtl: 0.02 }), logger);
    const first = await holder.start();
    await writeDoc('streams.json', '{ broken');
    await until(() => logger.lines.some((l) => l.level === 'warn'));
    expect(holder.current()).toBe(first);
    const warning = logger.lines.find((l) => l.level === 'warn');
    expect(warning?.args[1]).toMatch(/keeping the previous one/);
    // And recovers once the file is fixed.
    await writeDoc('streams.json', { z: { topics: ['tz'] } });
    await until(() => holder.current().get('z') !== undefined);
    holder.stop();
  });

  it('does not notify or log when a reload changes nothing', async () => {
    const uri = await writeDoc('streams.json', { a: { topics: ['ta'] } });
    const logger = recordingLogger();
    const holder = new CatalogueHolder(config({ streamConfigUri: uri }), logger);
    const listener = vi.fn();
    holder.onChange(listener);
    await holder.start();
    expect(await holder.reload()).toBe(true);
    expect(listener).not.toHaveBeenCalled();
    expect(logger.lines.filter((l) => l.level === 'info')).toHaveLength(1);
  });

  it('never reloads with ttl 0, and stop() ends reloading', async () => {
    const load = vi.fn(async () => createCatalogue([stream('a')]));
    const once = new CatalogueHolder(config({ streamConfigUri: 'unused', streamConfigTtl: 0 }), recordingLogger(), { load });
    await once.start();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(load).toHaveBeenCalledTimes(1);

    const periodic = vi.fn(async () => createCatalogue([stream('a')]));
    const holder = new CatalogueHolder(config({ streamConfigUri: 'unused', streamConfigTtl: 0.01 }), recordingLogger(), { load: periodic });
    await holder.start();
    await until(() => periodic.mock.calls.length >= 3);
    holder.stop();
    const calls = periodic.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(periodic.mock.calls.length).toBeLessThanOrEqual(calls + 1); // at most the one in flight
  });

  it('fails start() when the first load fails', async () => {
    const holder = new CatalogueHolder(config({ streamConfigUri: path.join(dir, 'missing.json') }), recordingLogger());
    await expect(holder.start()).rejects.toBeInstanceOf(CatalogueError);
  });

  it('accepts a pino logger', async () => {
    const holder = new CatalogueHolder(config({ streams: { a: { topics: ['t'] } } }), pino({ level: 'silent' }));
    expect((await holder.start()).get('a')?.topics).toEqual(['t']);
    holder.stop();
  });
});
