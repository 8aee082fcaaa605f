import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { START_POSITIONS_HEADER } from '../../src/http/routes/stream.ts';
import type { RunningService } from '../../src/service.ts';
import { rcEvent } from '../support/events.ts';
import { produceJson, testBrokers, uniqueTopic, uniqueTopicName } from '../support/kafka.ts';
import { startTestService } from '../support/service.ts';
import { getJson, openRaw } from '../support/sse.ts';

let service: RunningService;
let eqiad: string;
let codfw: string;
let other: string;
const T0 = Date.now() - 60_000;

beforeAll(async () => {
  eqiad = await uniqueTopic('eqiad.rc', 2);
  codfw = await uniqueTopic('codfw.rc', 1);
  other = await uniqueTopic('eqiad.private', 1);
  // 10 events at known times in eqiad partition 0, 2 in codfw; eqiad partition 1 stays empty.
  await produceJson(testBrokers(), eqiad, Array.from({ length: 10 }, (_, i) => ({ value: rcEvent(i), timestamp: T0 + i * 1000, key: `{"page_id":${i}}` })));
  await produceJson(testBrokers(), codfw, [0, 1].map((i) => ({ value: rcEvent(100 + i), timestamp: T0 + i * 1000 })));
  await produceJson(testBrokers(), other, [{ value: { secret: true } }]);
  service = await startTestService(
    {
      'mediawiki.recentchange': { topics: [eqiad, codfw], stream_aliases: ['recentchange'], schema_title: 'mediawiki/recentchange', $schema: '/mediawiki/recentchange/1.0.0' },
      'private.stream': { topics: [other] },
    },
    { heartbeat_interval: 300, schema_base_uris: [fileURLToPath(new URL('../../config/schemas', import.meta.url))] },
  );
});

afterAll(async () => {
  await service?.stop();
});

const streamUrl = (path: string) => `${service.url}/v2/stream/${path}`;

describe('streaming response', () => {
  it('opens with :ok, frames events as event/id/data and adds the Kafka position to meta', async () => {
    const s = await openRaw(streamUrl(`recentchange?since=${T0}`));
    try {
      expect(s.status).toBe(200);
      expect(s.headers['content-type']).toBe('text/event-stream');
      expect(s.headers['cache-control']).toBe('no-cache');
      expect(s.headers['access-control-allow-origin']).toBe('*');
      expect(s.headers['content-encoding']).toBeUndefined();
      await s.until((x) => x.messages().length >= 12);
      expect(s.text().startsWith(':ok\n\n')).toBe(true);
      // A replay in time order starts once every partition has been read: heartbeats may come first.
      const firstEvent = s.text().slice(':ok\n\n'.length).split('\n\n').find((block) => !block.startsWith(':')) ?? '';
      expect(firstEvent.split('\n').map((l) => l.slice(0, l.indexOf(':')))).toEqual(['event', 'id', 'data']);
      const eq = s.messages().filter((m) => m.data.meta && (m.data.meta as Record<string, unknown>).topic === eqiad);
      expect(eq.map((m) => m.data.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(eq[3]?.data.meta).toMatchObject({ topic: eqiad, partition: 0, offset: 3, key: { page_id: 3 }, domain: expect.any(String) });
      // The original's fields stay as recorded.
      expect(eq[3]?.data.title).toBe(rcEvent(3).title);
    } finally {
      s.close();
    }
  });

  it('ids cover every partition: timestamps where delivered, concrete offsets where not', async () => {
    const s = await openRaw(streamUrl(`recentchange?since=${T0}`));
    try {
      await s.until((x) => x.messages().length >= 12);
      const last = s.messages().at(-1);
      const ids = last?.id as Record<string, unknown>[];
      expect(ids).toHaveLength(3);
      expect(ids).toContainEqual({ topic: eqiad, partition: 0, timestamp: T0 + 9000 + 1, ts_seen: 1 });
      expect(ids).toContainEqual({ topic: codfw, partition: 0, timestamp: T0 + 1000 + 1, ts_seen: 1 });
      // Partition 1 delivered nothing: it keeps the position it resolved to (the since), never -1.
      expect(ids).toContainEqual({ topic: eqiad, partition: 1, timestamp: T0 });
      const header = JSON.parse(String(s.headers[START_POSITIONS_HEADER]));
      expect(header).toEqual([
        { topic: eqiad, partition: 0, offset: 0 },
        { topic: eqiad, partition: 1, offset: 0 },
        { topic: codfw, partition: 0, offset: 0 },
      ]);
    } finally {
      s.close();
    }
  });

  it('serves newline-delimited JSON when Accept starts with application/json', async () => {
    const s = await openRaw(streamUrl(`mediawiki.recentchange?since=${T0}`), { accept: 'application/json' });
    try {
      expect(s.headers['content-type']).toBe('application/json; charset=utf-8');
      await s.until((x) => x.text().split('\n').filter((l) => l.startsWith('{')).length >= 12);
      expect(s.text().startsWith('\n')).toBe(true);
      expect(s.text()).not.toContain('event:');
      const events = s.text().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(events.filter((e) => (e.meta as Record<string, unknown>).topic === eqiad).map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      s.close();
    }
  });

  it.each([
    ['epoch milliseconds', () => String(T0 + 7000)],
    ['ISO-8601', () => new Date(T0 + 7000).toISOString()],
  ])('starts from since given as %s', async (_name, since) => {
    const s = await openRaw(streamUrl(`recentchange?since=${encodeURIComponent(since())}`));
    try {
      await s.until((x) => x.messages().length >= 3);
      expect(s.messages().map((m) => m.data.seq)).toEqual([7, 8, 9]);
    } finally {
      s.close();
    }
  });

  it('without since or id starts at the end and then streams what arrives', async () => {
    const s = await openRaw(streamUrl('recentchange'));
    try {
      await s.until((x) => x.text().startsWith(':ok'));
      await produceJson(testBrokers(), codfw, [{ value: rcEvent(200) }]);
      await s.until((x) => x.messages().length >= 1);
      expect(s.messages().map((m) => m.data.seq)).toEqual([200]);
    } finally {
      s.close();
    }
  });

  it('sends a heartbeat comment on a quiet stream', async () => {
    const s = await openRaw(streamUrl('recentchange'));
    try {
      await s.until((x) => x.text().includes(':ok\n\n:\n\n'), 3000);
    } finally {
      s.close();
    }
  });
});

describe('Last-Event-ID', () => {
  it('resumes from offsets, which win over timestamps, and answers with offsets', async () => {
    const id = JSON.stringify([{ topic: eqiad, partition: 0, offset: 8, timestamp: T0 }]);
    const s = await openRaw(streamUrl('recentchange'), { 'last-event-id': id });
    try {
      await s.until((x) => x.messages().length >= 2);
      expect(s.messages().map((m) => m.data.seq)).toEqual([8, 9]);
      expect(s.messages()[0]?.id).toEqual([
        { topic: eqiad, partition: 0, offset: 9 },
        { topic: eqiad, partition: 1, offset: 0 },
      ]);
    } finally {
      s.close();
    }
  });

  it('resumes from timestamps like the original (first event at or after)', async () => {
    const id = JSON.stringify([{ topic: eqiad, partition: 0, timestamp: T0 + 5000 }, { topic: eqiad, partition: 1, offset: -1 }]);
    const s = await openRaw(streamUrl('recentchange'), { 'last-event-id': id });
    try {
      await s.until((x) => x.messages().length >= 5);
      expect(s.messages().map((m) => m.data.seq)).toEqual([5, 6, 7, 8, 9]);
      expect(s.blocks().filter((b) => b.event === 'notice')).toEqual([]);
    } finally {
      s.close();
    }
  });

  it('reads only the topics the id names; a topic name means all its partitions from since', async () => {
    const s = await openRaw(streamUrl(`recentchange?since=${T0}`), { 'last-event-id': JSON.stringify([codfw]) });
    try {
      await s.until((x) => x.messages().length >= 2);
      await new Promise((r) => setTimeout(r, 300));
      expect(s.messages().every((m) => (m.data.meta as Record<string, unknown>).topic === codfw)).toBe(true);
    } finally {
      s.close();
    }
  });

  it('refuses a topic outside the requested streams with 404 and a problem body', async () => {
    for (const id of [[{ topic: other, partition: 0, offset: 0 }], [other]]) {
      const r = await getJson(streamUrl('recentchange'), { 'last-event-id': JSON.stringify(id) });
      expect(r.status).toBe(404);
      expect(r.body).toMatchObject({ type: 'topic_not_allowed', status: 404 });
      expect(JSON.stringify(r.body)).not.toContain('secret');
    }
  });

  it('tells the client, in a header and an in-stream notice, when a position cannot be honoured', async () => {
    const id = JSON.stringify([{ topic: eqiad, partition: 0, offset: 999 }, { topic: eqiad, partition: 1, timestamp: Date.now() + 3_600_000 }]);
    const s = await openRaw(streamUrl('recentchange'), { 'last-event-id': id });
    try {
      await s.until((x) => x.blocks().some((b) => b.event === 'notice'));
      const notice = s.blocks().find((b) => b.event === 'notice');
      const body = JSON.parse(notice?.data ?? '{}');
      expect(body.type).toBe('position');
      expect(body.positions).toEqual([
        expect.objectContaining({ topic: eqiad, partition: 0, offset: 10, reason: 'offset_beyond_end' }),
        expect.objectContaining({ topic: eqiad, partition: 1, offset: 0, reason: 'timestamp_in_future' }),
      ]);
      expect(JSON.parse(notice?.id ?? '[]')).toEqual([
        { topic: eqiad, partition: 0, offset: 10 },
        { topic: eqiad, partition: 1, offset: 0 },
      ]);
      expect(JSON.parse(String(s.headers[START_POSITIONS_HEADER]))).toEqual([
        { topic: eqiad, partition: 0, offset: 10 },
        { topic: eqiad, partition: 1, offset: 0 },
      ]);
    } finally {
      s.close();
    }
  });
});

describe('errors before streaming', () => {
  it.each([
    ['an unknown stream', 'nope', {}, 400, 'not_found'],
    ['one unknown among known streams', 'recentchange,nope', {}, 400, 'not_found'],
    ['an empty stream list', ',', {}, 400, 'not_found'],
    ['a bad since', 'recentchange?since=yesterday', {}, 400, 'invalid_timestamp'],
    ['a malformed Last-Event-ID', 'recentchange', { 'last-event-id': '[{"topic":' }, 400, 'invalid_last_event_id'],
    ['a Last-Event-ID that is not an array', 'recentchange', { 'last-event-id': '{"topic":"x"}' }, 400, 'invalid_last_event_id'],
  ])('answers %s with a JSON problem', async (_name, path, headers, status, type) => {
    const r = await getJson(streamUrl(path), headers as Record<string, string>);
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ type, status, detail: expect.any(String) });
  });

  it('answers unknown routes with a 404 problem', async () => {
    const r = await getJson(`${service.url}/v2/nothing-here`);
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ status: 404 });
  });
});

describe('CORS', () => {
  it('allows a preflight that sends Last-Event-ID from any origin', async () => {
    const r = await fetch(streamUrl('recentchange'), {
      method: 'OPTIONS',
      headers: { origin: 'https://tools.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'last-event-id' },
    });
    expect(r.status).toBeLessThan(300);
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('last-event-id');
  });
});

describe('service routes', () => {
  it('/?spec lists every stream and alias where EventStreams clients read it', async () => {
    const r = await getJson(`${service.url}/?spec`);
    const spec = r.body as { paths: Record<string, { get: { parameters: { schema: { items: { enum: string[] } } }[] } }> };
    expect(spec.paths['/v2/stream/{streams}']?.get.parameters[0]?.schema.items.enum).toEqual(['mediawiki.recentchange', 'private.stream', 'recentchange']);
  });
  it('/ redirects to the UI, /robots.txt disallows all, /_info describes the service', async () => {
    const root = await fetch(`${service.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/v2/ui');
    expect(await (await fetch(`${service.url}/robots.txt`)).text()).toBe('User-agent: *\nDisallow: /\n');
    const info = await getJson(`${service.url}/_info`);
    expect(info.body).toMatchObject({ name: expect.any(String), version: expect.any(String) });
    const ui = await fetch(`${service.url}/v2/ui`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toMatch(/text\/html/);
  });
  it('/v2/streams lists the catalogue with aliases and topics', async () => {
    const r = await getJson(`${service.url}/v2/streams`);
    expect((r.body as { streams: unknown[] }).streams).toContainEqual(
      expect.objectContaining({ name: 'mediawiki.recentchange', aliases: ['recentchange'], topics: [eqiad, codfw], schema_url: '/v2/schema/mediawiki/recentchange/1.0.0' }),
    );
  });
  it('serves the schemas the catalogue links to, by version and latest', async () => {
    const exact = await getJson(`${service.url}/v2/schema/mediawiki/recentchange/1.0.0`);
    expect(exact.status).toBe(200);
    expect(exact.body).toMatchObject({ title: 'mediawiki/recentchange', $id: '/mediawiki/recentchange/1.0.0' });
    const latest = await getJson(`${service.url}/v2/schema/mediawiki/recentchange/latest`);
    expect(latest.body).toMatchObject({ $id: '/mediawiki/recentchange/1.0.1' });
    expect((await getJson(`${service.url}/v2/schema/mediawiki/nothing/1.0.0`)).status).toBe(404);
    expect((await getJson(`${service.url}/v2/schema/..%2f..%2fetc/passwd`)).status).toBe(400);
    // On disk, but no stream of this catalogue has it.
    expect((await getJson(`${service.url}/v2/schema/mediawiki/page/delete/1.0.0`)).status).toBe(404);
  });
  it('looks up no schema outside the catalogue: requests cannot make it fetch from a schema server', async () => {
    const asked: string[] = [];
    const schemaServer = http.createServer((request, response) => {
      asked.push(request.url ?? '');
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => schemaServer.listen(0, '127.0.0.1', resolve));
    const { port } = schemaServer.address() as { port: number };
    const topic = await uniqueTopic('eqiad.schema-http', 1);
    const svc = await startTestService({ s: { topics: [topic], schema_title: 'test/event' } }, { schema_base_uris: [`http://127.0.0.1:${port}/schemas`] });
    try {
      // The service reads its streams' schemas itself (sanitization shapes); requests add nothing.
      const atStart = [...asked];
      for (let i = 0; i < 50; i++) expect((await getJson(`${svc.url}/v2/schema/attacker/title${i}/1.0.${i}`)).status).toBe(404);
      for (const bad of ['test/event/1.0', 'test/ev.ent/1.0.0', 'test/event/1.0.0.json', 'test//event/latest']) {
        expect((await getJson(`${svc.url}/v2/schema/${bad}`)).status, bad).toBe(400);
      }
      expect(asked).toEqual(atStart);
      await getJson(`${svc.url}/v2/schema/test/event/1.0.0`);
      expect(asked.length).toBeGreaterThan(atStart.length);
    } finally {
      await svc.stop();
      await new Promise((resolve) => schemaServer.close(resolve));
    }
  });
});

describe('long stream names', () => {
  it('accepts a path naming many streams', async () => {
    const path = Array.from({ length: 20 }, () => 'mediawiki.recentchange').join(',');
    const s = await openRaw(streamUrl(path));
    try {
      expect(s.status).toBe(200);
    } finally {
      s.close();
    }
  });
});

describe('raw HTTP', () => {
  it('keeps the response chunked; gzip when the client accepts it, identity when the operator offers no coding', async () => {
    const s = await openRaw(streamUrl('recentchange'), { 'accept-encoding': 'gzip, br' });
    const plain = await startTestService({ rc: { topics: [eqiad] } }, { compression: { codings: [] } });
    const p = await openRaw(`${plain.url}/v2/stream/rc`, { 'accept-encoding': 'gzip, br' });
    try {
      expect([s.headers['transfer-encoding'], s.headers['content-encoding']]).toEqual(['chunked', 'gzip']);
      expect([p.headers['transfer-encoding'], p.headers['content-encoding']]).toEqual(['chunked', undefined]);
    } finally {
      s.close();
      p.close();
      await plain.stop();
    }
    expect(http.STATUS_CODES[200]).toBe('OK');
  });
});

describe('topics that do not exist', () => {
  it('answers 503 no_topics with Retry-After when none exists, and streams the ones that do', async () => {
    const real = await uniqueTopic('eqiad.partly', 1);
    const missing = uniqueTopicName('eqiad.missing');
    const partial = await startTestService({ gone: { topics: [missing] }, partly: { topics: [missing, real] } }, { heartbeat_interval: 300 });
    try {
      const none = await getJson(`${partial.url}/v2/stream/gone`);
      expect(none.status).toBe(503);
      expect(none.headers.get('retry-after')).not.toBeNull();
      expect(none.body).toMatchObject({ type: 'no_topics' });
      const s = await openRaw(`${partial.url}/v2/stream/partly`);
      await produceJson(testBrokers(), real, [{ value: rcEvent(1) }]);
      await s.until((x) => x.messages().length >= 1);
      s.close();
      expect((s.messages()[0]?.data.meta as Record<string, unknown>).topic).toBe(real);
    } finally {
      await partial.stop();
    }
  });
});
