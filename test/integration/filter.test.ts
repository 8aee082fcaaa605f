import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.ts';
import { rcEvent } from '../support/events.ts';
import { produceJson, testBrokers, uniqueTopic } from '../support/kafka.ts';
import { startTestService } from '../support/service.ts';
import { getJson, openRaw, startPositions, type RawStream } from '../support/sse.ts';

type Event = Record<string, unknown>;
interface Produced {
  partition: number;
  offset: number;
  event: Event;
}

const SCHEMAS = fileURLToPath(new URL('../../config/schemas', import.meta.url));
const T0 = Date.now() - 60_000;

let service: RunningService;
let rc: string;
let free: string;
const produced: Produced[] = [];

/** Produces real recentchange events `from`..`to` (cycling over the 300), round-robin over two partitions. */
async function produce(from: number, to: number, timestamp?: (i: number) => number): Promise<Produced[]> {
  const events = Array.from({ length: to - from }, (_, i) => rcEvent(from + i));
  const positions = await produceJson(
    testBrokers(),
    rc,
    events.map((value, i) => ({ value, partition: (from + i) % 2, ...(timestamp ? { timestamp: timestamp(from + i) } : {}) })),
  );
  const added = positions.map((p, i) => ({ partition: p.partition, offset: Number(p.offset), event: events[i] as Event }));
  produced.push(...added);
  return added;
}

const position = (m: { data: Event }) => {
  const meta = m.data.meta as { partition: number; offset: number };
  return `${meta.partition}/${meta.offset}`;
};
const positionsOf = (list: Produced[], test: (e: Event) => boolean) => list.filter((p) => test(p.event)).map((p) => `${p.partition}/${p.offset}`);
/** Per-partition order kept, partitions compared as sets of sequences. */
const sorted = (list: string[]) => [...list].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));

beforeAll(async () => {
  rc = await uniqueTopic('eqiad.filter.rc', 2);
  free = await uniqueTopic('eqiad.filter.free', 1);
  await produce(0, 300, (i) => T0 + i * 10);
  await produceJson(testBrokers(), free, [{ value: { anything: { goes: 5 }, wiki: 'enwiki' } }, { value: { anything: { goes: 6 } } }]);
  service = await startTestService(
    {
      'mediawiki.recentchange': { topics: [rc], stream_aliases: ['recentchange'], schema_title: 'mediawiki/recentchange' },
      'free.stream': { topics: [free] },
    },
    { heartbeat_interval: 300, schema_base_uris: [SCHEMAS] },
  );
});

afterAll(async () => {
  await service?.stop();
});

const url = (query: string, streams = 'recentchange') => `${service.url}/v2/stream/${streams}?${query}`;

async function collect(query: string, expected: number, headers: Record<string, string> = {}): Promise<RawStream> {
  const s = await openRaw(url(query), headers);
  expect(s.status).toBe(200);
  await s.until((x) => x.messages().length >= expected);
  // Anything beyond the expected events would arrive right behind them.
  await new Promise((resolve) => setTimeout(resolve, 300));
  s.close();
  return s;
}

describe('filtered streams from history', () => {
  it('sends exactly the events of the named wikis, in order, from since', async () => {
    const expected = positionsOf(produced, (e) => e.wiki === 'enwiki' || e.wiki === 'dewiki');
    expect(expected.length).toBeGreaterThan(10);
    const s = await collect(`since=${T0}&wiki=enwiki,dewiki`, expected.length);
    const got = s.messages().map(position);
    expect(got).toHaveLength(expected.length);
    expect(sorted(got)).toEqual(sorted(expected));
    for (const m of s.messages()) expect(['enwiki', 'dewiki']).toContain(m.data.wiki);
    for (const partition of [0, 1]) {
      const offsets = s.messages().map((m) => m.data.meta as { partition: number; offset: number }).filter((m) => m.partition === partition).map((m) => m.offset);
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    }
  });

  it('combines negation, numeric comparisons, globs and presence', async () => {
    const test = (e: Event) =>
      e.bot !== true && (e.namespace as number) < 100 && ((e.meta as Event).domain as string).endsWith('.wikipedia.org') && e.comment !== undefined;
    const expected = positionsOf(produced, test);
    expect(expected.length).toBeGreaterThan(5);
    const s = await collect(`since=${T0}&bot!=true&namespace<100&meta.domain=*.wikipedia.org&comment`, expected.length);
    expect(sorted(s.messages().map(position))).toEqual(sorted(expected));
  });

  it('projects the requested fields and keeps the Kafka position', async () => {
    const expected = positionsOf(produced, (e) => e.wiki === 'commonswiki');
    const s = await collect(`since=${T0}&wiki=commonswiki&fields=title,user,length.new`, expected.length);
    expect(s.messages()).toHaveLength(expected.length);
    for (const m of s.messages()) {
      expect(Object.keys(m.data).sort()).toEqual(expect.arrayContaining(['meta', 'title']));
      expect(Object.keys(m.data).every((k) => ['meta', 'title', 'user', 'length'].includes(k))).toBe(true);
      expect(Object.keys(m.data.meta as Event).sort()).toEqual(['offset', 'partition', 'topic']);
      const source = produced.find((p) => `${p.partition}/${p.offset}` === position(m))?.event;
      expect(m.data.title).toBe(source?.title);
      expect((m.data.length as Event | undefined)?.new).toBe((source?.length as Event | undefined)?.new);
    }
  });

  it('filters NDJSON the same way', async () => {
    const expected = positionsOf(produced, (e) => e.type === 'log');
    const s = await openRaw(url(`since=${T0}&type=log&fields=type`), { accept: 'application/json' });
    await s.until((x) => x.text().split('\n').filter((l) => l.trim() !== '').length >= expected.length);
    s.close();
    const lines = s.text().split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Event);
    expect(lines.map((e) => e.type)).toEqual(expected.map(() => 'log'));
  });

  it('filters across several streams, a schemaless one included', async () => {
    const s = await openRaw(url(`since=${T0}&wiki=enwiki`, 'recentchange,free.stream'));
    const expected = positionsOf(produced, (e) => e.wiki === 'enwiki').length + 1;
    await s.until((x) => x.messages().length >= expected);
    s.close();
    const fromFree = s.messages().filter((m) => (m.data.meta as Event).topic === free);
    expect(fromFree.map((m) => m.data.anything)).toEqual([{ goes: 5 }]);
  });
});

describe('bad filters', () => {
  it.each([
    ['namespace=abc', 'namespace', /`namespace` is an integer: `abc` is not/],
    ['wikii=enwiki', 'wikii', /Unknown field `wikii`/],
    ['title>=A', 'title', /compares numbers and date-times only/],
    ['fields=title,nope', 'nope', /Unknown field `nope`/],
  ])('%s is refused with 400 and a problem naming the field', async (query, field, message) => {
    const { status, headers, body } = await getJson(url(query));
    expect(status).toBe(400);
    expect(headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(body).toMatchObject({ type: 'invalid_filter', status: 400, field, detail: expect.stringMatching(message) });
  });

  it('lists the valid fields with their types when a field is unknown', async () => {
    const { body } = await getJson(url('wikii=enwiki'));
    const fields = (body as { valid_fields: { path: string; type: string }[] }).valid_fields;
    expect(fields).toContainEqual({ path: 'wiki', type: 'string' });
    expect(fields).toContainEqual({ path: 'namespace', type: 'integer' });
  });

  it('refuses syntax errors and limits with 400, never 5xx', async () => {
    for (const query of ['wiki=', '%zz', 'a..b=1', `title=${'x'.repeat(2000)}`, Array.from({ length: 40 }, (_, i) => `wiki=w${i}`).join('&')]) {
      const { status, body } = await getJson(url(query));
      expect(status, query).toBe(400);
      expect(body).toMatchObject({ type: 'invalid_filter' });
    }
  });

  it('accepts any field on a stream without a schema', async () => {
    const s = await openRaw(url(`since=${T0}&anything.goes>=5`, 'free.stream'));
    await s.until((x) => x.messages().length >= 2);
    s.close();
    expect(s.messages().map((m) => m.data.anything)).toEqual([{ goes: 5 }, { goes: 6 }]);
  });
});

describe('live filtered clients (indexed by value)', () => {
  it('each get exactly their events while the feed fans out once', async () => {
    const queries = { enwiki: 'wiki=enwiki', dewikiHumans: 'wiki=dewiki,frwiki&bot=false', commonsFiles: 'wiki=commonswiki&namespace=6', all: '' };
    const streams = Object.fromEntries(await Promise.all(Object.entries(queries).map(async ([name, q]) => [name, await openRaw(url(q))] as const)));
    // Every stream is subscribed once its start positions are resolved and its :ok is out.
    await Promise.all(Object.values(streams).map((s) => s.until((x) => x.text().startsWith(':ok'))));
    const added = await produce(300, 600);
    const tests: Record<string, (e: Event) => boolean> = {
      enwiki: (e) => e.wiki === 'enwiki',
      dewikiHumans: (e) => (e.wiki === 'dewiki' || e.wiki === 'frwiki') && e.bot === false,
      commonsFiles: (e) => e.wiki === 'commonswiki' && e.namespace === 6,
      all: () => true,
    };
    for (const [name, s] of Object.entries(streams)) {
      const expected = positionsOf(added, tests[name] as (e: Event) => boolean);
      await s.until((x) => x.messages().length >= expected.length);
      await new Promise((resolve) => setTimeout(resolve, 200));
      s.close();
      expect(sorted(s.messages().map(position)), name).toEqual(sorted(expected));
    }
  });
});

describe('resuming a rarely matching filter', () => {
  it('moves the id with id-only blocks, so a resume starts after everything skipped', async () => {
    const s = await openRaw(url('wiki=nosuchwiki'));
    await s.until((x) => x.text().startsWith(':ok'));
    const before = produced.length;
    await produce(600, 700);
    // All 100 share one timestamp, 50 per partition: an id-only block counts all of them as seen.
    const idOnly = (x: RawStream) => x.blocks().filter((b) => b.id !== undefined && b.data === undefined && b.event === undefined);
    const coversAll = (id: string) => (JSON.parse(id) as { ts_seen?: number }[]).every((p) => p.ts_seen === 50);
    await s.until((x) => idOnly(x).some((b) => coversAll(b.id as string)), 10_000);
    s.close();
    expect(s.messages()).toHaveLength(0);
    const lastId = idOnly(s).find((b) => coversAll(b.id as string))?.id as string;

    // Resume: the start positions are the ends of the partitions, not the positions of 100 events ago.
    const ends = new Map<number, number>();
    for (const p of produced.slice(before)) ends.set(p.partition, Math.max(ends.get(p.partition) ?? -1, p.offset + 1));
    const resumed = await openRaw(url('wiki=enwiki'), { 'last-event-id': lastId });
    const starts = JSON.parse(resumed.headers['eventstreams-start-positions'] as string) as { partition: number; offset: number }[];
    for (const start of starts) expect(start.offset).toBe(ends.get(start.partition));
    const added = await produce(700, 800);
    const expected = positionsOf(added, (e) => e.wiki === 'enwiki');
    await resumed.until((x) => x.messages().length >= expected.length);
    await new Promise((resolve) => setTimeout(resolve, 300));
    resumed.close();
    expect(sorted(resumed.messages().map(position))).toEqual(sorted(expected));
  });

  /** Whether a Last-Event-ID resumes each partition right after its last produced event. */
  async function resumesAtEnds(service: RunningService, id: string, added: Produced[]): Promise<void> {
    for (const start of await startPositions(`${service.url}/v2/stream/recentchange?wiki=enwiki`, id)) {
      const last = [...added].reverse().find((p) => p.partition === start.partition) as Produced;
      expect(start.offset, `partition ${start.partition}`).toBe(last.offset + 1);
    }
  }

  /** A service that ends every stream after 3 s, so clients reconnect with the id they hold. */
  const shortLived = () =>
    startTestService(
      { 'mediawiki.recentchange': { topics: [rc], stream_aliases: ['recentchange'], schema_title: 'mediawiki/recentchange' } },
      { heartbeat_interval: 200, schema_base_uris: [SCHEMAS], connections: { max_duration: 3, max_duration_jitter: 0, reconnect_delay_ms: 100 } },
    );

  async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('npm eventsource keeps the id of an id-only block and resumes from it after a disconnect', async () => {
    const short = await shortLived();
    const sentIds: (string | null)[] = [];
    const messages: Event[] = [];
    const es = new EventSource(`${short.url}/v2/stream/recentchange?wiki=enwiki`, {
      fetch: (input, init) => {
        sentIds.push(new Headers(init?.headers).get('last-event-id'));
        return fetch(input, init);
      },
    });
    try {
      es.addEventListener('message', (e) => messages.push(JSON.parse(e.data) as Event));
      await new Promise((resolve) => es.addEventListener('open', resolve, { once: true }));
      const added = await produce(800, 900);
      await waitFor(() => sentIds.length >= 2, 'the reconnect');
      await resumesAtEnds(short, sentIds[1] as string, added);
      expect(messages.map((m) => m.wiki)).toEqual(positionsOf(added, (e) => e.wiki === 'enwiki').map(() => 'enwiki'));
    } finally {
      es.close();
      await short.stop();
    }
  });

  it('python requests-sse (under pywikibot) keeps it too, and resumes with no event lost or repeated', async () => {
    const short = await shortLived();
    const script = fileURLToPath(new URL('../support/requests_sse_client.py', import.meta.url));
    const lines: Record<string, unknown>[] = [];
    // scripts/provision.sh installs requests-sse there.
    const pythonPath = [fileURLToPath(new URL('../../.tools/python', import.meta.url)), process.env.PYTHONPATH].filter(Boolean).join(':');
    const child = spawn('python3', [script, `${short.url}/v2/stream/recentchange?wiki=enwiki`, '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, PYTHONPATH: pythonPath },
    });
    try {
      // The count is only known once the events are produced: the client is started open-ended.
      createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
      const connects = () => lines.filter((l) => 'connect' in l);
      const metas = () => lines.filter((l) => 'meta' in l).map((l) => l.meta as { partition: number; offset: number });
      await waitFor(() => connects().length >= 1, 'the first connection');
      const first = await produce(900, 1000);
      await waitFor(() => connects().length >= 2, 'the reconnect');
      await resumesAtEnds(short, connects()[1]?.connect as string, first);
      const second = await produce(1000, 1100);
      const wanted = positionsOf([...first, ...second], (e) => e.wiki === 'enwiki').length;
      await waitFor(() => metas().length >= wanted, 'all enwiki events');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(sorted(metas().map((m) => `${m.partition}/${m.offset}`))).toEqual(sorted(positionsOf([...first, ...second], (e) => e.wiki === 'enwiki')));
    } finally {
      child.kill();
      await short.stop();
    }
  });
});
