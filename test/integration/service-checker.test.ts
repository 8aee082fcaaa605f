/**
 * The routes around the stream as service-runner's spec-driven monitor (service-checker) and
 * EventStreams' own test suite use them: the served OpenAPI document is valid OpenAPI 3.0, every
 * operation is either a stream left alone (`x-monitor: false`) or answers each of its `x-amples`
 * as the example says, and no monitored request is left open; `/_info` as service-runner's
 * services answer it; security headers on every answer.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.ts';
import { rcEvent } from '../support/events.ts';
import { produceJson, testBrokers, uniqueTopic } from '../support/kafka.ts';
import { openApiErrors } from '../support/openapi.ts';
import { mismatches, monitorCases, type Operation } from '../support/service-checker.ts';
import { startTestService } from '../support/service.ts';

const SCHEMAS = fileURLToPath(new URL('../../config/schemas', import.meta.url));
let service: RunningService;
let doc: { openapi: string; info: { description: string }; paths: Record<string, Record<string, Operation & { description?: string }>> };

beforeAll(async () => {
  const topic = await uniqueTopic('eqiad.checker.rc', 1);
  await produceJson(testBrokers(), topic, [{ value: rcEvent(0) }]);
  service = await startTestService(
    { 'mediawiki.recentchange': { topics: [topic], stream_aliases: ['recentchange'], schema_title: 'mediawiki/recentchange' }, nameless: { topics: [topic] } },
    { schema_base_uris: [SCHEMAS], home: 'https://docs.example.org/eventstreams' },
  );
  const spec = await fetch(`${service.url}/?spec`);
  expect(spec.status).toBe(200);
  expect(spec.headers.get('content-type')).toMatch(/^application\/json/);
  doc = (await spec.json()) as typeof doc;
}, 120_000);

afterAll(async () => {
  await service?.stop();
});

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.0, valid against its official schema, like EventStreams\' own', async () => {
    expect(doc.openapi).toMatch(/^3\.0\.\d+$/);
    expect(await openApiErrors(doc)).toEqual([]);
  });

  it('marks exactly the stream routes x-monitor: false and gives every other route x-amples', () => {
    const { unmonitored, withoutAmples } = monitorCases(service.url, doc);
    expect(unmonitored.sort()).toEqual(['GET /v2/stream/mediawiki.recentchange', 'GET /v2/stream/nameless', 'GET /v2/stream/recentchange', 'GET /v2/stream/{streams}']);
    expect(withoutAmples).toEqual([]);
  });

  it('says where "Try it out" cannot help, and points to the UI and curl', () => {
    for (const text of [doc.info.description, doc.paths['/v2/stream/{streams}']?.get?.description, doc.paths['/v2/stream/recentchange']?.get?.description]) {
      expect(text).toContain('"Try it out" cannot show a stream');
      expect(text).toContain('/v2/ui');
      expect(text).toContain('curl');
    }
  });
});

describe('service-checker', () => {
  it('every monitored route answers each of its x-amples as the example says, and ends', async () => {
    const { cases } = monitorCases(service.url, doc);
    // The catalogue, its schema, /_info and its fields, readiness, metrics, robots, the root.
    expect(cases.length).toBeGreaterThanOrEqual(14);
    const failures: string[] = [];
    for (const c of cases) {
      // A monitored route that streams would hold this request open: the timeout fails it.
      const response = await fetch(c.url, { method: c.method.toUpperCase(), headers: c.example.request?.headers ?? {}, redirect: 'manual', signal: AbortSignal.timeout(5000) });
      const body = await response.text();
      for (const problem of mismatches(c.example, response.status, response.headers, body)) failures.push(`${c.method.toUpperCase()} ${c.path} (${c.title}): ${problem}`);
    }
    expect(failures).toEqual([]);
    expect(service.sessions.size).toBe(0);
  });

  it('finds a wrong answer: the checks can fail', () => {
    const example = { title: 't', response: { status: 200, headers: { 'content-type': 'application/json' }, body: { name: '/.+/', list: [{ a: 'x' }] } } };
    const headers = new Headers({ 'content-type': 'text/plain' });
    expect(mismatches(example, 404, headers, '{"name":"","list":[{"a":"xy"},{"a":"y"}]}')).toEqual([
      'status 404, expected 200',
      'content-type: text/plain, expected application/json',
      'body.name: , expected /.+/',
      'body.list[1].a: y, expected x',
    ]);
  });
});

describe('/_info as EventStreams\' test suite expects it', () => {
  it('answers name and version as JSON fields, at /_info/ too, and redirects home', async () => {
    for (const field of ['name', 'version', 'description']) {
      const response = await fetch(`${service.url}/_info/${field}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(Object.keys((await response.json()) as object)).toEqual([field]);
    }
    const slash = await fetch(`${service.url}/_info/`);
    expect(slash.status).toBe(200);
    expect(await slash.json()).toEqual(await (await fetch(`${service.url}/_info`)).json());
    const home = await fetch(`${service.url}/_info/home`, { redirect: 'manual' });
    expect(home.status).toBe(301);
    expect(home.headers.get('location')).toBe('https://docs.example.org/eventstreams');
  });

  it('serves a schema by a path parameter whose slashes are percent-encoded, as a monitor may send it', async () => {
    const response = await fetch(`${service.url}/v2/schema/${encodeURIComponent('mediawiki/recentchange/latest')}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ title: 'mediawiki/recentchange' });
  });
});
