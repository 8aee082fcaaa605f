/**
 * Every method on every route does what it should: HEAD answers a GET's head and never a body, and
 * on the stream route never opens a stream (its body would be thrown away, so backlog and
 * slow-client limits could not apply); write methods get 405 with `Allow`.
 */
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.ts';
import { rcEvent } from '../support/events.ts';
import { produceJson, testBrokers, uniqueTopic } from '../support/kafka.ts';
import { metric } from '../support/metrics.ts';
import { startTestService } from '../support/service.ts';

const SCHEMAS = fileURLToPath(new URL('../../config/schemas', import.meta.url));
let service: RunningService;

/** Every GET path of the service (one per route), with the status a GET gets. */
const GET_PATHS: [string, number][] = [
  ['/', 302],
  ['/?spec', 200],
  ['/?doc', 200],
  ['/_info', 200],
  ['/_info/', 200],
  ['/_info/name', 200],
  ['/_info/home', 301],
  ['/_ready', 200],
  ['/robots.txt', 200],
  ['/metrics', 200],
  ['/v2/streams', 200],
  ['/v2/schema/mediawiki/recentchange/latest', 200],
  ['/v2/ui', 200],
  ['/v2/ui/', 200],
  ['/v2/ui/vendor/yaml/index.js', 200],
  ['/v2/doc/swagger-ui.css', 200],
  ['/v2/stream/rc', 200],
];

interface Exchange {
  status: number;
  headers: Record<string, string>;
  /** Bytes after the head, until the server closed the connection (or 1 s passed). */
  body: Buffer;
  closed: boolean;
}

/** Sends one request with `connection: close` and reads everything the server sends for it. */
function exchange(method: string, path: string, headers: Record<string, string> = {}): Promise<Exchange> {
  const { hostname, port } = new URL(service.url);
  const lines = Object.entries({ host: 'localhost', connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}`);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = Buffer.alloc(0);
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return reject(new Error(`no response head for ${method} ${path}`));
      const [statusLine = '', ...headerLines] = received.subarray(0, end).toString('latin1').split('\r\n');
      const parsed: Record<string, string> = {};
      for (const line of headerLines) parsed[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
      resolve({ status: Number(statusLine.split(' ')[1]), headers: parsed, body: received.subarray(end + 4), closed });
    };
    const timer = setTimeout(() => done(false), 1000);
    socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
    socket.on('close', () => done(true));
    socket.on('error', () => undefined);
    socket.write(`${method} ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
  });
}

beforeAll(async () => {
  const topic = await uniqueTopic('eqiad.methods.rc', 1);
  for (let batch = 0; batch < 4; batch++) await produceJson(testBrokers(), topic, Array.from({ length: 250 }, (_, i) => ({ value: rcEvent(batch * 250 + i) })));
  service = await startTestService(
    { 'mediawiki.recentchange': { topics: [topic], stream_aliases: ['rc'], schema_title: 'mediawiki/recentchange' } },
    { schema_base_uris: [SCHEMAS] },
  );
}, 120_000);

afterAll(async () => {
  await service?.stop();
});

describe('HEAD', () => {
  it.each(GET_PATHS)('%s answers the GET status and content-type, and no body', async (path, status) => {
    const get = await exchange('GET', path);
    const head = await exchange('HEAD', path);
    expect(get.status).toBe(status);
    expect(head.status).toBe(status);
    expect(head.headers['content-type']).toBe(get.headers['content-type']);
    expect(head.body.length).toBe(0);
    expect(head.closed).toBe(true);
    // Helmet's headers on every answer, HEAD and GET alike, streams included.
    for (const answer of [get, head]) {
      expect(answer.headers['x-content-type-options'], path).toBe('nosniff');
      expect(answer.headers['x-frame-options'], path).toBe('SAMEORIGIN');
      expect(answer.headers['referrer-policy'], path).toBe('no-referrer');
    }
  });

  it('on a stream replaying history opens no stream, reads nothing from Kafka and holds nothing', async () => {
    const fetchesBefore = await metric(service.url, 'eventstreams_kafka_messages_read_total', { kind: 'catch_up' });
    for (const path of ['/v2/stream/rc?since=0', '/v2/stream/rc?since=0&wiki=enwiki', '/v2/stream/rc']) {
      for (const accept of ['text/event-stream', 'application/json']) {
        const head = await exchange('HEAD', path, { accept, 'last-event-id': '[]' });
        expect(head.status).toBe(200);
        expect(head.headers['content-type']).toMatch(accept === 'application/json' ? /^application\/json/ : /^text\/event-stream/);
        expect(head.body.length).toBe(0);
        expect(head.closed).toBe(true);
      }
    }
    expect(service.sessions.size).toBe(0);
    expect(await metric(service.url, 'eventstreams_connected_clients', { stream: 'mediawiki.recentchange' })).toBe(0);
    expect(await metric(service.url, 'eventstreams_kafka_messages_read_total', { kind: 'catch_up' })).toBe(fetchesBefore);
  });

  it('on a stream refuses what the GET refuses, with the same status', async () => {
    for (const [path, headers, status] of [
      ['/v2/stream/nope', {}, 400],
      ['/v2/stream/rc?since=yesterday', {}, 400],
      ['/v2/stream/rc', { 'last-event-id': 'not json' }, 400],
    ] as const) {
      const get = await exchange('GET', path, headers);
      const head = await exchange('HEAD', path, headers);
      expect([get.status, head.status]).toEqual([status, status]);
      expect(head.body.length).toBe(0);
    }
  });
});

describe('write methods', () => {
  it.each(GET_PATHS.map(([path]) => path))('%s: POST, PUT, PATCH and DELETE get 405 with Allow', async (path) => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const answer = await exchange(method, path, { 'content-length': '0' });
      expect(answer.status, `${method} ${path}`).toBe(405);
      expect(answer.headers.allow).toContain('GET');
      expect(answer.headers.allow).toContain('HEAD');
      expect(JSON.parse(answer.body.toString())).toMatchObject({ type: 'method_not_allowed', status: 405 });
    }
    expect(service.sessions.size).toBe(0);
  });

  it('an unknown path stays a 404 for every method', async () => {
    for (const method of ['GET', 'HEAD', 'POST', 'DELETE']) expect((await exchange(method, '/v3/nothing')).status).toBe(404);
  });
});
