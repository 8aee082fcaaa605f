import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.ts';
import { rcEvent } from '../support/events.ts';
import { produceJson, testBrokers, uniqueTopic } from '../support/kafka.ts';
import { metric } from '../support/metrics.ts';
import { schemaErrors, openApiErrors, type OpenApiDoc } from '../support/openapi.ts';
import { startTestService } from '../support/service.ts';
import { getJson, openRaw } from '../support/sse.ts';

const SCHEMAS = fileURLToPath(new URL('../../config/schemas', import.meta.url));
const CLIENT_IP = '198.51.100.23';

let service: RunningService;
let topic: string;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  topic = await uniqueTopic('eqiad.ops.rc', 2);
  const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) });
  service = await startTestService(
    { 'ops.recentchange': { topics: [topic], stream_aliases: ['ops-rc'], schema_title: 'mediawiki/recentchange' } },
    { schema_base_uris: [SCHEMAS], client_ip_connection_limit: 1, client_ip_header: 'x-client-ip' },
    logger,
  );
});

afterAll(async () => {
  await service?.stop();
});

describe('API documentation', () => {
  it('/?spec is a valid OpenAPI document of the live catalogue, with the stream schema and example', async () => {
    const r = await getJson(`${service.url}/?spec`);
    expect(r.status).toBe(200);
    const doc = r.body as OpenApiDoc;
    expect(await openApiErrors(doc)).toEqual([]);
    expect(doc.paths['/v2/stream/{streams}']?.get.parameters?.[0]?.schema.items?.enum).toEqual(['ops-rc', 'ops.recentchange']);
    for (const name of ['ops.recentchange', 'ops-rc']) {
      const json = doc.paths[`/v2/stream/${name}`]?.get.responses['200']?.content?.['application/json'];
      expect(json?.schema?.['title'], name).toBe('mediawiki/recentchange');
      expect(schemaErrors(json?.schema ?? {}, json?.example), name).toEqual([]);
    }
  });

  it('documents the error bodies the service really sends', async () => {
    const doc = (await getJson(`${service.url}/?spec`)).body as OpenApiDoc;
    const problem = doc.components.schemas['Problem'] ?? {};
    const errors = [
      await getJson(`${service.url}/v2/stream/no-such-stream`),
      await getJson(`${service.url}/v2/stream/ops-rc?no.such.field=1`),
      await getJson(`${service.url}/v2/stream/ops-rc?since=yesterday-ish`),
    ];
    expect(errors.map((e) => [e.status, (e.body as { type: string }).type])).toEqual([
      [400, 'not_found'],
      [400, 'invalid_filter'],
      [400, 'invalid_timestamp'],
    ]);
    for (const error of errors) expect(schemaErrors(problem, error.body)).toEqual([]);
    expect(errors[1]?.body).toMatchObject({ valid_fields: expect.arrayContaining([{ path: 'title', type: 'string' }]) });
  });

  it('/?doc is Swagger UI for /?spec, served entirely by this service', async () => {
    const page = await fetch(`${service.url}/?doc`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain("url: '?spec'");
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(assets.length).toBe(3);
    for (const asset of assets) {
      expect(asset).not.toMatch(/^(https?:)?\/\//);
      const response = await fetch(new URL(asset, `${service.url}/`));
      expect(response.status, asset).toBe(200);
      expect((await response.arrayBuffer()).byteLength, asset).toBeGreaterThan(asset.endsWith('.png') ? 500 : 10_000);
    }
    expect((await fetch(`${service.url}/v2/doc/package.json`)).status).toBe(404);
  });
});

describe('Prometheus metrics', () => {
  it('count connections, events read and sent per stream, bytes, Kafka latency and reader lag once an event streamed', async () => {
    const url = service.url;
    const stream = { stream: 'ops.recentchange' };
    const before = {
      connections: await metric(url, 'eventstreams_client_connections_total', { stream: 'ops.recentchange' }),
      read: await metric(url, 'eventstreams_events_read_total', stream),
      sent: await metric(url, 'eventstreams_events_sent_total', stream),
      bytes: await metric(url, 'eventstreams_bytes_sent_total'),
    };
    const client = await openRaw(`${url}/v2/stream/ops-rc`, { 'x-client-ip': CLIENT_IP, 'user-agent': 'ops-metrics-test/1.0' });
    try {
      await client.until((s) => s.text().startsWith(':ok'));
      expect(await metric(url, 'eventstreams_connected_clients', stream)).toBe(1);
      await produceJson(testBrokers(), topic, [0, 1, 2].map((i) => ({ value: rcEvent(i), partition: i % 2 })));
      await client.until((s) => s.messages().length >= 3);
      expect(await metric(url, 'eventstreams_client_connections_total', { stream: 'ops.recentchange' })).toBe(before.connections + 1);
      expect(await metric(url, 'eventstreams_events_read_total', stream)).toBeGreaterThanOrEqual(before.read + 3);
      expect(await metric(url, 'eventstreams_events_sent_total', stream)).toBe(before.sent + 3);
      expect((await metric(url, 'eventstreams_bytes_sent_total')) - before.bytes).toBeGreaterThanOrEqual(Buffer.byteLength(client.text()));
      expect(await metric(url, 'eventstreams_kafka_request_duration_seconds_count', { api: 'fetch', outcome: 'ok' })).toBeGreaterThan(0);
      expect(await metric(url, 'eventstreams_kafka_request_duration_seconds_count', { api: 'list_offsets', outcome: 'ok' })).toBeGreaterThan(0);
      const text = await (await fetch(`${url}/metrics`)).text();
      // The shared reader of each partition reports its lag; it has read all there is.
      for (const partition of ['0', '1']) {
        expect(text).toMatch(new RegExp(`^eventstreams_shared_reader_lag_messages\\{topic="${topic}",partition="${partition}"\\} 0$`, 'm'));
      }
      expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
      expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
      // Bounded labels: nothing identifies a client.
      expect(text).not.toContain(CLIENT_IP);
      expect(text).not.toContain('ops-metrics-test');

      const rejectedBefore = await metric(url, 'eventstreams_rejected_requests_total', { status: '429' });
      const second = await getJson(`${url}/v2/stream/ops-rc`, { 'x-client-ip': CLIENT_IP });
      expect(second.status).toBe(429);
      expect(await metric(url, 'eventstreams_rejected_requests_total', { status: '429' })).toBe(rejectedBefore + 1);
    } finally {
      client.close();
    }
    await expect.poll(() => metric(url, 'eventstreams_connected_clients', stream)).toBe(0);
  });
});

describe('logs', () => {
  it('write one JSON line per stream open and close, with request id, client network (the default /24), duration, events, bytes and reason', async () => {
    const requestId = `ops-log-${Date.now()}`;
    const client = await openRaw(`${service.url}/v2/stream/ops.recentchange`, {
      'x-client-ip': '203.0.113.5',
      'user-agent': 'ops-log-test/2.0',
      'x-request-id': requestId,
    });
    expect(client.headers['x-request-id']).toBe(requestId);
    await client.until((s) => s.text().startsWith(':ok'));
    await produceJson(testBrokers(), topic, [{ value: rcEvent(7) }, { value: rcEvent(8) }]);
    await client.until((s) => s.messages().length >= 2);
    const received = Buffer.byteLength(client.text());
    client.close();
    await expect.poll(() => logLines.some((l) => l['reqId'] === requestId && l['msg'] === 'stream closed')).toBe(true);
    const lines = logLines.filter((l) => l['reqId'] === requestId);
    expect(lines.map((l) => l['msg'])).toEqual(['stream opened', 'stream closed']);
    expect(lines[0]).toMatchObject({ level: 30, streams: ['ops.recentchange'], clientIp: '203.0.113.0', userAgent: 'ops-log-test/2.0', format: 'sse' });
    expect(lines[1]).toMatchObject({ streams: ['ops.recentchange'], clientIp: '203.0.113.0', userAgent: 'ops-log-test/2.0', eventsSent: 2, reason: 'client_closed' });
    expect(lines[1]?.['bytesSent']).toBe(received);
    expect(lines[1]?.['durationMs']).toEqual(expect.any(Number));
  });

  it('gives requests without an id a unique one', async () => {
    const ids = await Promise.all([1, 2].map(async () => (await fetch(`${service.url}/_info`)).headers.get('x-request-id')));
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[1]).not.toBe(ids[0]);
  });
});

describe('readiness', () => {
  it('reports shutting_down while open streams drain, so load balancers stop sending clients', async () => {
    const svc = await startTestService({ drain: { topics: [topic] } }, { connections: { shutdown_drain_ms: 3000 } });
    // Three streams end one by one over the drain window; the server answers meanwhile.
    const clients = await Promise.all([1, 2, 3].map(() => openRaw(`${svc.url}/v2/stream/drain`)));
    for (const client of clients) await client.until((s) => s.text().startsWith(':ok'));
    expect((await getJson(`${svc.url}/_ready`)).body).toEqual({ status: 'ready' });
    const stopped = svc.stop();
    const during = await getJson(`${svc.url}/_ready`);
    expect(during.status).toBe(503);
    expect(during.body).toMatchObject({ type: 'shutting_down' });
    await stopped;
    await Promise.all(clients.map((c) => c.ended));
  });
});

describe('several instances behind a load balancer', () => {
  it('resume on another instance with the id of the first, with no gap and no duplicate', async () => {
    const shared = await uniqueTopic('eqiad.ops.lb', 2);
    const streams = { lb: { topics: [shared] } };
    const [first, second] = await Promise.all([startTestService(streams), startTestService(streams)]);
    try {
      const t0 = Date.now() - 10_000;
      await produceJson(testBrokers(), shared, [0, 1, 2, 3, 4, 5].map((i) => ({ value: rcEvent(i, { seq: i }), partition: i % 2, timestamp: t0 + i })));
      const a = await openRaw(`${first?.url}/v2/stream/lb?since=${t0}`);
      await a.until((s) => s.messages().length >= 6);
      a.close();
      const afterThird = a.blocks().filter((b) => b.event === 'message')[2];
      const seen = a.messages().slice(0, 3).map((m) => m.data.seq as number);
      await produceJson(testBrokers(), shared, [6, 7].map((i) => ({ value: rcEvent(i, { seq: i }), partition: i % 2 })));
      const b = await openRaw(`${second?.url}/v2/stream/lb`, { 'last-event-id': afterThird?.id ?? '' });
      await b.until((s) => s.messages().length >= 5);
      b.close();
      const resumed = b.messages().map((m) => m.data.seq as number);
      expect([...seen, ...resumed].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    } finally {
      await Promise.all([first?.stop(), second?.stop()]);
    }
  });
});
