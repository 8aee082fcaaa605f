import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SchemaStore } from '../../src/catalogue/schemas.ts';

const shippedSchemas = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../config/schemas');

let dir: string;
const servers: Server[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'es-schemas-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function put(relative: string, content: string | object): Promise<void> {
  const file = path.join(dir, relative);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
}

/** A schema server with request counting; `files` maps URL paths to bodies. */
async function serve(files: Record<string, string>): Promise<{ base: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = files[req.url ?? ''];
    if (body === undefined) {
      res.writeHead(req.url === '/boom/x/1.0.0.json' ? 500 : 404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

describe('SchemaStore in directories', () => {
  it('resolves a $schema URI to <base><uri>.json, then .yaml, then no extension', async () => {
    await put('a/1.0.0.json', { title: 'a json' });
    await put('b/1.0.0.yaml', 'title: b yaml\n');
    await put('c/1.0.0', 'title: c bare\n');
    const store = new SchemaStore([dir]);
    expect(await store.byUri('/a/1.0.0')).toEqual({ uri: '/a/1.0.0', schema: { title: 'a json' } });
    expect((await store.byUri('/b/1.0.0'))?.schema).toEqual({ title: 'b yaml' });
    expect((await store.byUri('/c/1.0.0'))?.schema).toEqual({ title: 'c bare' });
    expect((await store.byUri('b/1.0.0.yaml'))?.schema).toEqual({ title: 'b yaml' });
  });

  it('prefers .json over .yaml for the same version', async () => {
    await put('a/1.0.0.json', { from: 'json' });
    await put('a/1.0.0.yaml', 'from: yaml\n');
    expect((await new SchemaStore([dir]).byUri('/a/1.0.0'))?.schema).toEqual({ from: 'json' });
  });

  it('returns undefined for a missing schema, title or directory', async () => {
    const store = new SchemaStore([dir, path.join(dir, 'nope')]);
    expect(await store.byUri('/missing/1.0.0')).toBeUndefined();
    expect(await store.latest('missing/title')).toBeUndefined();
    expect(await store.get({})).toBeUndefined();
    expect(await new SchemaStore([]).byUri('/a/1.0.0')).toBeUndefined();
  });

  it('tries bases in order', async () => {
    await put('one/a/1.0.0.json', { from: 'one' });
    await put('two/a/1.0.0.json', { from: 'two' });
    await put('two/b/1.0.0.json', { from: 'two' });
    const store = new SchemaStore([path.join(dir, 'one'), pathToFileURL(path.join(dir, 'two')).href]);
    expect((await store.byUri('/a/1.0.0'))?.schema).toEqual({ from: 'one' });
    expect((await store.byUri('/b/1.0.0'))?.schema).toEqual({ from: 'two' });
  });

  it('finds the latest version of a title by semver, releases before pre-releases', async () => {
    for (const v of ['1.2.0', '1.10.0', '1.9.3', '1.10.0-rc.1', '2.0.0-alpha']) await put(`t/x/${v}.json`, { v });
    await put('t/x/latest', { v: 'symlink-ish' });
    await put('t/x/README.md', 'not a version');
    const store = new SchemaStore([dir]);
    expect(await store.latest('t/x')).toEqual({ uri: '/t/x/2.0.0-alpha', schema: { v: '2.0.0-alpha' } });
    await rm(path.join(dir, 't/x/2.0.0-alpha.json'));
    expect(await new SchemaStore([dir]).latest('/t/x/')).toEqual({ uri: '/t/x/1.10.0', schema: { v: '1.10.0' } });
  });

  it('counts .yaml-only versions and falls back to a latest file', async () => {
    await put('y/1.0.0.json', { v: 1 });
    await put('y/1.1.0.yaml', 'v: 1.1\n');
    await put('l/latest.yaml', '$id: /l/3.0.0\nv: 3\n');
    const store = new SchemaStore([dir]);
    expect(await store.latest('y')).toEqual({ uri: '/y/1.1.0', schema: { v: 1.1 } });
    expect(await store.latest('l')).toEqual({ uri: '/l/3.0.0', schema: { $id: '/l/3.0.0', v: 3 } });
  });

  it('get() uses the $schema URI first, else the latest version of the title', async () => {
    await put('s/1.0.0.json', { v: 1 });
    await put('s/1.1.0.json', { v: 2 });
    const store = new SchemaStore([dir]);
    expect((await store.get({ schemaUri: '/s/1.0.0', schemaTitle: 's' }))?.uri).toBe('/s/1.0.0');
    expect((await store.get({ schemaTitle: 's' }))?.uri).toBe('/s/1.1.0');
    expect(await store.get({ schemaUri: '/s/9.9.9', schemaTitle: 's' })).toBeUndefined();
  });

  it('throws a clear error for a broken file, and does not cache it', async () => {
    await put('bad/1.0.0.json', '{"type": ');
    await put('list/1.0.0.json', '[1, 2]');
    const store = new SchemaStore([dir]);
    await expect(store.byUri('/bad/1.0.0')).rejects.toThrow(`Cannot parse schema ${path.join(dir, 'bad/1.0.0.json')}`);
    await expect(store.byUri('/list/1.0.0')).rejects.toThrow(`Schema ${path.join(dir, 'list/1.0.0.json')} is not a JSON schema object`);
    await put('bad/1.0.0.json', { fixed: true });
    expect((await store.byUri('/bad/1.0.0'))?.schema).toEqual({ fixed: true });
  });

  it('caches hits and misses', async () => {
    await put('c/1.0.0.json', { v: 1 });
    const store = new SchemaStore([dir]);
    const first = await store.byUri('/c/1.0.0');
    await put('c/1.0.0.json', { v: 2 });
    expect(await store.byUri('/c/1.0.0')).toBe(first);
    expect(await store.byUri('/d/1.0.0')).toBeUndefined();
    await put('d/1.0.0.json', { v: 1 });
    expect(await store.byUri('/d/1.0.0')).toBeUndefined();
    // A short ttl lets changes through.
    const fresh = new SchemaStore([dir], { ttlMs: 1 });
    await fresh.byUri('/d/1.0.0');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await put('d/1.0.0.json', { v: 3 });
    expect((await fresh.byUri('/d/1.0.0'))?.schema).toEqual({ v: 3 });
  });
});

describe('SchemaStore over http', () => {
  it('resolves $schema URIs and titles (via <base>/<title>/latest), with caching', async () => {
    const { base, requests } = await serve({
      '/jsonschema/mediawiki/recentchange/1.0.0': JSON.stringify({ $id: '/mediawiki/recentchange/1.0.0', title: 'rc' }),
      '/jsonschema/mediawiki/recentchange/latest.yaml': '$id: /mediawiki/recentchange/1.0.1\ntitle: rc latest\n',
    });
    const store = new SchemaStore([`${base}/jsonschema/`]);
    expect(await store.byUri('/mediawiki/recentchange/1.0.0')).toEqual({ uri: '/mediawiki/recentchange/1.0.0', schema: { $id: '/mediawiki/recentchange/1.0.0', title: 'rc' } });
    expect(requests).toEqual([
      '/jsonschema/mediawiki/recentchange/1.0.0.json',
      '/jsonschema/mediawiki/recentchange/1.0.0.yaml',
      '/jsonschema/mediawiki/recentchange/1.0.0',
    ]);
    expect(await store.latest('mediawiki/recentchange')).toEqual({
      uri: '/mediawiki/recentchange/1.0.1',
      schema: { $id: '/mediawiki/recentchange/1.0.1', title: 'rc latest' },
    });
    const count = requests.length;
    await store.byUri('/mediawiki/recentchange/1.0.0');
    await store.latest('mediawiki/recentchange');
    await Promise.all([store.byUri('/nope/1.0.0'), store.byUri('/nope/1.0.0')]);
    // One round of lookups for the two concurrent misses, none for the cached hits.
    expect(requests.length).toBe(count + 3);
  });

  it('accepts an absolute schema URL', async () => {
    const { base } = await serve({ '/abs/schema.json': '{"title": "abs"}' });
    expect((await new SchemaStore([]).byUri(`${base}/abs/schema.json`))?.schema).toEqual({ title: 'abs' });
  });

  it('falls back from an http base to a directory base', async () => {
    const { base } = await serve({});
    await put('x/1.0.0.json', { local: true });
    expect((await new SchemaStore([base, dir]).byUri('/x/1.0.0'))?.schema).toEqual({ local: true });
    expect((await new SchemaStore([base, dir]).latest('x'))?.uri).toBe('/x/1.0.0');
  });

  it('throws for a server error (not a miss), naming the URL', async () => {
    const { base } = await serve({});
    await expect(new SchemaStore([`${base}/boom`]).byUri('/x/1.0.0')).rejects.toThrow(`Cannot read schema /x/1.0.0 from ${base}/boom/x/1.0.0.json: GET`);
  });
});

describe('the shipped schemas', () => {
  const store = new SchemaStore([shippedSchemas]);

  it('resolve the versions the production streams emit', async () => {
    const rc = await store.byUri('/mediawiki/recentchange/1.0.0');
    expect(rc?.schema['$id']).toBe('/mediawiki/recentchange/1.0.0');
    expect(rc?.schema['title']).toBe('mediawiki/recentchange');
    expect((await store.byUri('/mediawiki/revision/create/2.0.0'))?.schema['$id']).toBe('/mediawiki/revision/create/2.0.0');
  });

  it('resolve titles to their latest version', async () => {
    expect((await store.latest('mediawiki/recentchange'))?.uri).toBe('/mediawiki/recentchange/1.0.1');
    expect((await store.latest('mediawiki/page/change'))?.uri).toBe('/mediawiki/page/change/1.3.0');
    expect((await store.get({ schemaTitle: 'mediawiki/revision/create' }))?.uri).toBe('/mediawiki/revision/create/2.0.0');
    expect((await store.latest('mediawiki/page/prediction_classification_change'))?.uri).toBe('/mediawiki/page/prediction_classification_change/1.2.0');
    expect(await store.latest('mediawiki/page/rendering_feature_counts_change')).toBeUndefined();
  });
});
