import { EventSource } from 'eventsource';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.ts';
import { startService } from '../../src/service.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.ts';
import { produceJson, testBrokers, uniqueTopic } from '../support/kafka.ts';
import { startTestService } from '../support/service.ts';
import { metric } from '../support/metrics.ts';
import { getJson, openRaw, type RawStream } from '../support/sse.ts';

let service: RunningService;
let topic: string;

beforeAll(async () => {
  topic = await uniqueTopic('eqiad.limits', 1);
  service = await startTestService({ limited: { topics: [topic] } }, { client_ip_connection_limit: 2, client_ip_header: 'X-Client-IP', stream_ui_enabled: false });
});

afterAll(async () => {
  await service?.stop();
});

describe('client_ip_connection_limit', () => {
  it('answers 429 with Retry-After past the limit, per client IP, and frees the slot on disconnect', async () => {
    const url = `${service.url}/v2/stream/limited`;
    const open: RawStream[] = [];
    try {
      open.push(await openRaw(url, { 'x-client-ip': '198.51.100.7' }));
      // A proxy appends the address it saw: what the client wrote to its left is not believed.
      open.push(await openRaw(url, { 'x-client-ip': '203.0.113.50, 198.51.100.7' }));
      expect(open.map((s) => s.status)).toEqual([200, 200]);

      const refused = await getJson(url, { 'x-client-ip': '198.51.100.7' });
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(refused.body).toMatchObject({ type: 'too_many_connections', status: 429 });

      const other = await openRaw(url, { 'x-client-ip': '203.0.113.9' });
      open.push(other);
      expect(other.status).toBe(200);

      open[0]?.close();
      await new Promise((r) => setTimeout(r, 200));
      const again = await openRaw(url, { 'x-client-ip': '198.51.100.7' });
      open.push(again);
      expect(again.status).toBe(200);
    } finally {
      for (const s of open) s.close();
    }
  });

  it('tells event-stream clients to retry instead (they give up on a 429), and npm eventsource gets in once a slot frees', async () => {
    const url = `${service.url}/v2/stream/limited`;
    const ip = '198.51.100.99';
    const held = [await openRaw(url, { 'x-client-ip': ip }), await openRaw(url, { 'x-client-ip': ip })];
    const es = new EventSource(url, { fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, 'x-client-ip': ip } }) });
    try {
      const refused = await openRaw(url, { 'x-client-ip': ip, accept: 'text/event-stream' });
      await refused.ended;
      expect(refused.status).toBe(200);
      expect(refused.text()).toMatch(/^:too_many_connections: .*\n\nretry: \d+\n\n$/);
      // Not kept alive: the client comes back later, on a new connection.
      expect(refused.headers.connection).toBe('close');
      expect(await metric(service.url, 'eventstreams_rejected_requests_total', { status: '429' })).toBeGreaterThan(0);
      // It keeps being told to retry while the two slots are held, and keeps trying.
      await new Promise((r) => setTimeout(r, 1000));
      expect(es.readyState).not.toBe(EventSource.CLOSED);
      held[0]?.close();
      const received = new Promise<string>((resolve) => es.addEventListener('message', (e) => resolve(e.data), { once: true }));
      // Once it is in for real, it streams: keep producing until it has an event.
      const producing = setInterval(() => void produceJson(testBrokers(), topic, [{ value: { hello: 'limit' } }]), 500);
      try {
        expect(JSON.parse(await received)).toMatchObject({ hello: 'limit' });
      } finally {
        clearInterval(producing);
      }
    } finally {
      es.close();
      for (const s of held) s.close();
    }
  }, 30_000);

  it('does not count requests that never became streams', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await getJson(`${service.url}/v2/stream/unknown-stream`, { 'x-client-ip': '192.0.2.44' });
      expect(r.status).toBe(400);
    }
    const s = await openRaw(`${service.url}/v2/stream/limited`, { 'x-client-ip': '192.0.2.44' });
    expect(s.status).toBe(200);
    s.close();
  });
});

describe('the client address behind proxies', () => {
  const url = () => `${service.url}/v2/stream/limited`;

  it('counts IPv6 clients per /64: a client cannot take more slots by changing its interface id', async () => {
    const open = [await openRaw(url(), { 'x-client-ip': '2001:db8:1:2::1' }), await openRaw(url(), { 'x-client-ip': '2001:db8:1:2:ffff:1:2:3' })];
    try {
      expect(open.map((s) => s.status)).toEqual([200, 200]);
      expect((await getJson(url(), { 'x-client-ip': '2001:db8:1:2::99' })).status).toBe(429);
      const neighbour = await openRaw(url(), { 'x-client-ip': '2001:db8:1:3::1' });
      open.push(neighbour);
      expect(neighbour.status).toBe(200);
    } finally {
      for (const s of open) s.close();
    }
  });

  it('counts a header value that is not an address under the socket address', async () => {
    const open = [await openRaw(url(), { 'x-client-ip': 'unknown' }), await openRaw(url(), { 'x-client-ip': '<script>' })];
    try {
      expect(open.map((s) => s.status)).toEqual([200, 200]);
      // Both were 127.0.0.1, as is a request without the header.
      expect((await getJson(url())).status).toBe(429);
    } finally {
      for (const s of open) s.close();
    }
  });

  it('ignores X-Forwarded-For and X-Request-ID from a peer that is not a trusted proxy', async () => {
    const topic = await uniqueTopic('eqiad.untrusted', 1);
    const direct = await startTestService({ d: { topics: [topic] } }, { client_ip_connection_limit: 2, client_ip_header: 'x-forwarded-for', trusted_proxies: [] });
    const open: RawStream[] = [];
    try {
      for (const forged of ['198.51.100.1', '198.51.100.2']) open.push(await openRaw(`${direct.url}/v2/stream/d`, { 'x-forwarded-for': forged }));
      expect(open.map((s) => s.status)).toEqual([200, 200]);
      expect((await getJson(`${direct.url}/v2/stream/d`, { 'x-forwarded-for': '198.51.100.3' })).status).toBe(429);
      const info = await getJson(`${direct.url}/_info`, { 'x-request-id': 'forged-correlation-id' });
      expect(info.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      for (const s of open) s.close();
      await direct.stop();
    }
  });

  it("keeps a trusted proxy's request id (loopback is trusted by default)", async () => {
    const info = await getJson(`${service.url}/_info`, { 'x-request-id': 'proxy-id-42' });
    expect(info.headers.get('x-request-id')).toBe('proxy-id-42');
  });
});

describe('the default per-IP limit', () => {
  it('is 16 streams per client without any configuration', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'es-default-limit-'));
    const topic = await uniqueTopic('eqiad.default-limit', 1);
    await writeFile(join(dir, 'config.yaml'), stringify({ port: 0, listen_address: '127.0.0.1', kafka: { brokers: testBrokers() }, streams: { d: { topics: [topic] } }, connections: { shutdown_drain_ms: 0 } }));
    const { config } = await loadConfig({ argv: ['--config', join(dir, 'config.yaml')], env: {} });
    const svc = await startService(config, pino({ level: 'silent' }));
    const open: RawStream[] = [];
    try {
      for (let i = 0; i < 16; i++) open.push(await openRaw(`${svc.url}/v2/stream/d`));
      expect(open.every((s) => s.status === 200)).toBe(true);
      expect((await getJson(`${svc.url}/v2/stream/d`)).status).toBe(429);
    } finally {
      for (const s of open) s.close();
      await svc.stop();
    }
  });
});

describe('connections.max_streams', () => {
  it('caps the streams of all clients together with 503, whatever addresses they come from', async () => {
    const topic = await uniqueTopic('eqiad.max-streams', 1);
    const svc = await startTestService({ m: { topics: [topic] } }, { connections: { max_streams: 3 }, client_ip_header: 'x-client-ip' });
    const open: RawStream[] = [];
    try {
      for (const ip of ['2001:db8:1::1', '2001:db8:2::1', '2001:db8:3::1']) open.push(await openRaw(`${svc.url}/v2/stream/m`, { 'x-client-ip': ip }));
      expect(open.map((s) => s.status)).toEqual([200, 200, 200]);
      const refused = await getJson(`${svc.url}/v2/stream/m`, { 'x-client-ip': '2001:db8:4::1' });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(refused.body).toMatchObject({ type: 'overloaded' });
      expect(refused.headers.get('connection')).toBe('close');
      open.shift()?.close();
      await expect.poll(() => svc.sessions.size).toBe(2);
      const again = await openRaw(`${svc.url}/v2/stream/m`, { 'x-client-ip': '2001:db8:4::1' });
      open.push(again);
      expect(again.status).toBe(200);
    } finally {
      for (const s of open) s.close();
      await svc.stop();
    }
  });
});

describe('connections.max_connections', () => {
  it('closes connections past it unanswered, streams or not, and counts them', async () => {
    const topic = await uniqueTopic('eqiad.max-connections', 1);
    const svc = await startTestService({ c: { topics: [topic] } }, { connections: { max_streams: 2, max_connections: 3 }, client_ip_header: 'x-client-ip' });
    const { port } = new URL(svc.url);
    const streams: RawStream[] = [];
    let idle: Socket | undefined;
    try {
      for (const ip of ['2001:db8:1::1', '2001:db8:2::1']) streams.push(await openRaw(`${svc.url}/v2/stream/c`, { 'x-client-ip': ip }));
      expect(streams.map((s) => s.status)).toEqual([200, 200]);
      // A connection that sends nothing holds the third place.
      idle = await new Promise<Socket>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1', () => resolve(socket));
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const refused = await new Promise<string>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.write('GET /_info HTTP/1.1\r\nHost: x\r\n\r\n'));
        let answer = '';
        socket.on('data', (d: Buffer) => (answer += d.toString()));
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(answer));
      });
      expect(refused).toBe('');
      idle.destroy();
      // Asked in-process (no connection): the two streams are what is left open.
      const scrape = async (name: string): Promise<number> => {
        const text = (await svc.server.inject({ url: '/metrics' })).body;
        return Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1]);
      };
      await expect.poll(() => scrape('eventstreams_open_connections')).toBe(2);
      expect(await scrape('eventstreams_dropped_connections_total')).toBe(1);
    } finally {
      idle?.destroy();
      for (const s of streams) s.close();
      await svc.stop();
    }
  });
});

describe('metric series', () => {
  it('stay per stream whatever sets of streams clients ask for', async () => {
    const topics = await Promise.all(['a', 'b', 'c', 'd'].map((n) => uniqueTopic(`eqiad.series-${n}`, 1)));
    const names = ['sa', 'sb', 'sc', 'sd'];
    const svc = await startTestService(Object.fromEntries(names.map((n, i) => [n, { topics: [topics[i] as string] }])));
    try {
      // Every non-empty subset, in two orders: 30 distinct requested sets.
      for (let mask = 1; mask < 16; mask++) {
        const set = names.filter((_, i) => mask & (1 << i));
        for (const order of [set, [...set].reverse()]) {
          const s = await openRaw(`${svc.url}/v2/stream/${order.join(',')}`);
          expect(s.status).toBe(200);
          s.close();
        }
      }
      const text = await (await fetch(`${svc.url}/metrics`)).text();
      const series = text.split('\n').filter((l) => l.startsWith('eventstreams_client_connections_total{'));
      expect(series.sort()).toEqual(names.map((n) => `eventstreams_client_connections_total{stream="${n}"} 16`).sort());
    } finally {
      await svc.stop();
    }
  });
});

describe('stream_ui_enabled: false', () => {
  it('does not serve the UI', async () => {
    expect((await getJson(`${service.url}/v2/ui`)).status).toBe(404);
  });
});

describe('overload', () => {
  it('refuses new streams with 503 and Retry-After while the event loop lags', async () => {
    const topic = await uniqueTopic('eqiad.overload', 1);
    const svc = await startTestService({ o: { topics: [topic] } }, { fanout: { max_event_loop_lag_ms: 100 } });
    try {
      const before = await openRaw(`${svc.url}/v2/stream/o`);
      expect(before.status).toBe(200);
      before.close();
      await new Promise((r) => setTimeout(r, 100));
      const until = Date.now() + 400;
      while (Date.now() < until) {
        // a process too busy to serve more
      }
      await new Promise((r) => setTimeout(r, 1000));
      const refused = await getJson(`${svc.url}/v2/stream/o`);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(refused.body).toMatchObject({ type: 'overloaded' });
    } finally {
      await svc.stop();
    }
  });
});
