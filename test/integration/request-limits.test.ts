/**
 * Requests over the service's size and count limits get a clear 4xx with a problem body, from
 * fastify's routes and from Node's HTTP parser alike, and the service keeps serving.
 */
import { maxHeaderSize } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAST_EVENT_ID_LIMITS } from '../../src/protocol/last-event-id.ts';
import type { RunningService } from '../../src/service.ts';
import { uniqueTopic } from '../support/kafka.ts';
import { getRequest, rawRequest, type RawResponse } from '../support/raw-http.ts';
import { startTestService } from '../support/service.ts';
import { openRaw } from '../support/sse.ts';

const SCHEMAS = fileURLToPath(new URL('../../config/schemas', import.meta.url));

let service: RunningService;

beforeAll(async () => {
  const topic = await uniqueTopic('eqiad.limits.rc', 1);
  service = await startTestService(
    { 'limits.recentchange': { topics: [topic], stream_aliases: ['limits-rc'], schema_title: 'mediawiki/recentchange' } },
    { schema_base_uris: [SCHEMAS] },
  );
});

afterAll(async () => {
  await service?.stop();
});

const send = (target: string, headers: Record<string, string> = {}) => rawRequest(service.url, getRequest(target, headers));

function expectProblem(response: RawResponse, status: number, type: string, detail: RegExp): void {
  expect(response.status, response.body).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(response.body) as { type: string; status: number; detail: string };
  expect(body).toMatchObject({ type, status });
  expect(body.detail).toMatch(detail);
}

describe('request limits', () => {
  it(`headers over Node's ${maxHeaderSize} bytes: 431 with a problem body`, async () => {
    expectProblem(await send('/v2/stream/limits-rc', { 'user-agent': 'x'.repeat(maxHeaderSize + 1) }), 431, 'request_too_large', new RegExp(`exceed ${maxHeaderSize} bytes`));
    // Many small headers add up the same way.
    const many = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`x-h${i}`, 'v']));
    expectProblem(await send('/v2/stream/limits-rc', many), 431, 'request_too_large', /exceed/);
  });

  it('a multi-megabyte URL: 431 with a problem body, although the client is still sending', async () => {
    const filter = `?title=${'a'.repeat(3 * 1024 * 1024)}`;
    expectProblem(await send(`/v2/stream/limits-rc${filter}`), 431, 'request_too_large', /request line \(URL\)/);
  });

  it('a stream list longer than a path segment may be: 414 with a problem body', async () => {
    expectProblem(await send(`/v2/stream/${'limits-rc,'.repeat(500)}`), 414, 'uri_too_long', /too long/);
  });

  it('more than 64 streams: 400 too_many_streams', async () => {
    expectProblem(await send(`/v2/stream/${Array(65).fill('limits-rc').join(',')}`), 400, 'too_many_streams', /At most 64 streams/);
  });

  it('more than 32 filter clauses: 400 invalid_filter', async () => {
    const clauses = Array.from({ length: 33 }, (_, i) => `namespace!=${i}`).join('&');
    expectProblem(await send(`/v2/stream/limits-rc?${clauses}`), 400, 'invalid_filter', /32/);
  });

  it(`a Last-Event-ID with more than ${LAST_EVENT_ID_LIMITS.maxEntries} entries: 400 invalid_last_event_id`, async () => {
    const id = JSON.stringify(Array.from({ length: LAST_EVENT_ID_LIMITS.maxEntries + 1 }, (_, i) => `t${i}`));
    expectProblem(await send('/v2/stream/limits-rc', { 'last-event-id': id }), 400, 'invalid_last_event_id', /more than 1024 entries/);
  });

  it('a deeply nested Last-Event-ID: 400 invalid_last_event_id when it fits the headers, 431 beyond', async () => {
    const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const objects = (depth: number) => `[${'{"topic":'.repeat(depth)}1${'}'.repeat(depth)}]`;
    expectProblem(await send('/v2/stream/limits-rc', { 'last-event-id': nested(8000) }), 400, 'invalid_last_event_id', /topic name or an object/);
    expectProblem(await send('/v2/stream/limits-rc', { 'last-event-id': objects(1500) }), 400, 'invalid_last_event_id', /topic must be/);
    expectProblem(await send('/v2/stream/limits-rc', { 'last-event-id': nested(10_000) }), 431, 'request_too_large', /exceed/);
  });

  it('bad percent-encoding in the path and malformed HTTP: 400 with a problem body', async () => {
    expectProblem(await send('/v2/stream/limits-rc%E0%A4%A'), 400, 'bad_request', /percent-encoding/);
    expectProblem(await rawRequest(service.url, 'GET /v2/stream/limits-rc HTTP/1.1\r\nhost: x\r\nno colon here\r\n\r\n'), 400, 'bad_request', /Malformed/);
  });

  it('keeps serving streams after all of these', async () => {
    const stream = await openRaw(`${service.url}/v2/stream/limits-rc`);
    expect(stream.status).toBe(200);
    await stream.until((s) => s.text().startsWith(':ok'));
    stream.close();
  });
});
