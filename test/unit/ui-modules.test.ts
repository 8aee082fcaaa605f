/** The UI's browser-free modules: filter clauses, view state in the hash, schema fields, SSE parsing, the event store. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { encodeClause, opsForTypes, parseClause, splitValues, type Clause } from '../../public/js/filters.js';
import { mergeFields, schemaFields, typeLabel } from '../../public/js/schema-fields.js';
import { EventStore } from '../../public/js/event-store.js';
import { SseParser, type SseEvent } from '../../public/js/sse-parser.js';
import { fromHash, streamPath, toHash, type ViewState } from '../../public/js/view-state.js';

describe('filter clauses', () => {
  it.each<[Clause, string]>([
    [{ path: 'wiki', op: '=', value: 'enwiki,dewiki' }, 'wiki=enwiki,dewiki'],
    [{ path: 'bot', op: '!=', value: 'true' }, 'bot!=true'],
    [{ path: 'length.new', op: '>=', value: '10000' }, 'length.new%3E=10000'],
    [{ path: 'namespace', op: '<=', value: '4' }, 'namespace%3C=4'],
    [{ path: 'namespace', op: '<', value: '100' }, 'namespace%3C100'],
    [{ path: 'meta.dt', op: '>', value: '2026-01-01T00:00:00Z' }, 'meta.dt%3E2026-01-01T00%3A00%3A00Z'],
    [{ path: 'title', op: '=', value: 'Talk:*' }, 'title=Talk%3A*'],
    [{ path: 'comment', op: 'exists', value: '' }, 'comment'],
    [{ path: 'comment', op: 'absent', value: '' }, '!comment'],
    // An escaped comma stays inside its value; `&` and `=` in values cannot break the query.
    [{ path: 'title', op: '=', value: 'a\\,b,c&d=e' }, 'title=a%5C%2Cb,c%26d%3De'],
  ])('%o is written %s and read back', (clause, query) => {
    expect(encodeClause(clause)).toBe(query);
    const eq = query.indexOf('=');
    const key = decodeURIComponent(eq < 0 ? query : query.slice(0, eq));
    const value = eq < 0 ? undefined : query.slice(eq + 1).split(',').map(decodeURIComponent).join(',');
    expect(parseClause(key, value)).toEqual(clause);
  });

  it('splits values on unescaped commas only', () => {
    expect(splitValues('a\\,b,c\\\\,d')).toEqual(['a\\,b', 'c\\\\', 'd']);
  });

  it('offers comparisons only for numbers and date-times', () => {
    expect(opsForTypes(['integer', 'null'], undefined)).toEqual(['=', '!=', '>', '>=', '<', '<=', 'exists', 'absent']);
    expect(opsForTypes(['string'], 'date-time')).toContain('>');
    expect(opsForTypes(['boolean'], undefined)).toEqual(['=', '!=', 'exists', 'absent']);
    expect(opsForTypes(['object'], undefined)).toEqual(['exists', 'absent']);
  });

  it('rejects keys that are not field paths', () => {
    expect(parseClause('a b', 'x')).toBeUndefined();
    expect(parseClause('!', undefined)).toBeUndefined();
  });
});

describe('view state', () => {
  const state: ViewState = {
    streams: ['mediawiki.recentchange', 'page-create'],
    clauses: [
      { path: 'wiki', op: '=', value: 'enwiki' },
      { path: 'namespace', op: '<', value: '100' },
      { path: 'comment', op: 'absent', value: '' },
    ],
    fields: ['title', 'meta.dt'],
    start: { mode: 'ago', ms: 3_600_000 },
  };

  it('builds the stream URL with since computed from "ago"', () => {
    expect(streamPath(state, 10_000_000)).toBe('/v2/stream/mediawiki.recentchange,page-create?wiki=enwiki&namespace%3C100&!comment&fields=title,meta.dt&since=6400000');
  });

  it('round-trips through the hash, keeping "ago" relative', () => {
    const hash = toHash(state);
    expect(hash).toBe('#/?streams=mediawiki.recentchange,page-create&wiki=enwiki&namespace%3C100&!comment&fields=title,meta.dt&ago=3600000');
    expect(fromHash(hash)).toEqual(state);
  });

  it('keeps a resume position out of the URL: it travels as Last-Event-ID', () => {
    const id = '[{"topic":"eqiad.rc","partition":0,"offset":5}]';
    const resumed: ViewState = { ...state, clauses: [], fields: [], start: { mode: 'resume', id } };
    expect(streamPath(resumed)).toBe('/v2/stream/mediawiki.recentchange,page-create');
    expect(fromHash(toHash(resumed)).start).toEqual({ mode: 'resume', id });
  });

  it('reads the original UI\'s hash and ignores broken parts', () => {
    expect(fromHash('#/?streams=recentchange')).toMatchObject({ streams: ['recentchange'], clauses: [], start: { mode: 'now' } });
    expect(fromHash('#/?streams=a&since=notatime&x%ZZ=1&wiki=%E0').clauses).toEqual([]);
    expect(fromHash('#/?streams=a&since=2026-01-01T00:00:00.000Z').start).toEqual({ mode: 'time', time: '2026-01-01T00:00:00.000Z' });
  });
});

describe('schema fields', () => {
  const schema = JSON.parse(readFileSync(new URL('../../config/schemas/mediawiki/recentchange/1.0.1.json', import.meta.url), 'utf8')) as unknown;

  it('lists dotted paths with their types, type lists included', () => {
    const fields = schemaFields(schema);
    expect(fields.find((f) => f.path === 'length.new')).toMatchObject({ types: ['integer', 'null'] });
    expect(fields.find((f) => f.path === 'meta.dt')).toMatchObject({ types: ['string'], format: 'date-time' });
    expect(fields.map((f) => f.path)).toContain('wiki');
  });

  it('merges several schemas and always offers the Kafka position', () => {
    const a = { properties: { n: { type: 'integer' } } };
    const b = { properties: { n: { type: 'string' }, o: { properties: { p: { type: 'boolean' } } } } };
    const fields = mergeFields([a, b]);
    expect(fields.map((f) => `${f.path}: ${typeLabel(f)}`)).toEqual([
      'meta.offset: integer',
      'meta.partition: integer',
      'meta.topic: string',
      'n: integer | string',
      'o: object',
      'o.p: boolean',
    ]);
  });
});

describe('SSE parser', () => {
  it('parses events split across chunks, comments, ids and retry', () => {
    const events: SseEvent[] = [];
    const comments: string[] = [];
    const parser = new SseParser({ onEvent: (e) => events.push(e), onComment: (c) => comments.push(c) });
    for (const chunk of [':ok\n\nevent: mess', 'age\nid: [1]\ndata: {"a":', '1}\n\n:\n\nretry: 2000\n\n', 'id: [2]\n\nevent: notice\r\ndata: {}\r\n\r\n']) parser.push(chunk);
    expect(comments).toEqual(['ok', '']);
    expect(events).toEqual([
      { event: 'message', id: '[1]', data: '{"a":1}', retry: undefined },
      { event: 'none', id: '[1]', data: '', retry: 2000 },
      // An id-only block (a filtered stream's position) moves the id without an event.
      { event: 'none', id: '[2]', data: '', retry: undefined },
      // The last id stays in force for later blocks, as in EventSource.
      { event: 'notice', id: '[2]', data: '{}', retry: undefined },
    ]);
  });
});

describe('event store', () => {
  it('holds events while paused and hands them back in order', () => {
    const store = new EventStore(10);
    expect(store.add('{"n":1}', 'a')?.data).toEqual({ n: 1 });
    store.pause();
    expect(store.add('{"n":2}', 'b')).toBeUndefined();
    expect(store.add('{"n":3}', 'c')).toBeUndefined();
    expect(store.held.length).toBe(2);
    expect(store.resume().map((e) => e.data.n)).toEqual([2, 3]);
    expect(store.held).toEqual([]);
    expect(store.ndjson()).toBe('{"n":1}\n{"n":2}\n{"n":3}\n');
  });

  it('reaches its cap and allows another cap of events on extend', () => {
    const store = new EventStore(2);
    store.add('{}', undefined);
    expect(store.capReached).toBe(false);
    store.add('{}', undefined);
    expect(store.capReached).toBe(true);
    store.extend();
    store.add('{}', undefined);
    expect(store.capReached).toBe(false);
    store.setCap(1);
    expect(store.capReached).toBe(true);
    store.clear();
    expect([store.all.length, store.capReached]).toEqual([0, false]);
  });
});
