/**
 * The UI's browser-free modules: filter clauses, view state in the hash, schema fields, SSE parsing,
 * the event store, event formatting and links, readable URLs, replay progress, the quiet-stream hint.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { encodeClause, opsForTypes, parseClause, splitValues, type Clause } from '../../public/js/filters.js';
import { mergeFields, schemaFields, typeLabel } from '../../public/js/schema-fields.js';
import { EventStore } from '../../public/js/event-store.js';
import { SseParser, type SseEvent } from '../../public/js/sse-parser.js';
import { fromHash, streamPath, toHash, type ViewState } from '../../public/js/view-state.js';
import { eventLinks, eventTimeText, formatAgo, httpUrl, parseAgo, plainComment } from '../../public/js/format.js';
import { readableUrl } from '../../public/js/snippets.js';
import { ReplayProgress } from '../../public/js/replay-progress.js';
import { OTHER, timeSeries, topValues } from '../../public/js/chart-data.js';
import { quietText } from '../../public/js/quiet-hint.js';

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

  it('keeps allowed values (enum, const); merged, they bind only when every schema lists them', () => {
    const a = { properties: { kind: { type: 'string', enum: ['edit', 'new'] }, n: { type: 'integer', const: 0 }, free: { type: 'string' } } };
    const b = { properties: { kind: { type: 'string', enum: ['log'] }, free: { type: 'string', enum: ['x'] } } };
    expect(schemaFields(a).map((f) => [f.path, f.values])).toEqual([
      ['free', undefined],
      ['kind', ['edit', 'new']],
      ['n', ['0']],
    ]);
    const merged = mergeFields([a, b]);
    expect(merged.find((f) => f.path === 'kind')?.values).toEqual(['edit', 'new', 'log']);
    expect(merged.find((f) => f.path === 'free')?.values).toBeUndefined();
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

describe('event store: resuming after an event', () => {
  it('keeps the events up to it, drops later ones (held or shown) and ends the pause', () => {
    const store = new EventStore(10);
    const first = store.add('{"n":1}', 'a');
    store.add('{"n":2}', 'b');
    store.pause();
    store.add('{"n":3}', 'c');
    store.keepUpTo(first?.seq ?? 0);
    expect(store.all.map((e) => e.data.n)).toEqual([1]);
    expect([store.held.length, store.paused]).toEqual([0, false]);
    expect(store.add('{"n":2}', 'b')?.data).toEqual({ n: 2 });
  });
});

describe('event formatting', () => {
  const event = {
    title_url: 'https://en.wikipedia.org/wiki/A_b',
    notify_url: 'https://en.wikipedia.org/w/index.php?diff=2&oldid=1',
    server_url: 'https://en.wikipedia.org',
    server_script_path: '/w',
    user: 'A & B?',
  };

  it('links title, user contributions and diff, with the user name encoded as a query value', () => {
    const links = eventLinks(event);
    expect(links.title?.href).toBe('https://en.wikipedia.org/wiki/A_b');
    expect(links.diff?.href).toBe('https://en.wikipedia.org/w/index.php?diff=2&oldid=1');
    expect(links.user?.href).toBe('https://en.wikipedia.org/w/index.php?title=Special%3AContributions%2FA+%26+B%3F');
  });

  it('links page_change events by their domain and revision', () => {
    const links = eventLinks({ meta: { uri: 'https://de.wikipedia.org/wiki/X', domain: 'de.wikipedia.org' }, performer: { user_text: 'U' }, revision: { rev_id: 7 } });
    expect(links.title?.href).toBe('https://de.wikipedia.org/wiki/X');
    expect(links.user?.href).toBe('https://de.wikipedia.org/w/index.php?title=Special%3AContributions%2FU');
    expect(links.diff?.href).toBe('https://de.wikipedia.org/w/index.php?diff=7');
  });

  it('never links anything but http(s)', () => {
    for (const bad of ['javascript:alert(1)', 'data:text/html,x', 'vbscript:x', ' javascript:x', '//evil', 'not a url']) expect(httpUrl(bad)).toBeUndefined();
    expect(eventLinks({ title_url: 'javascript:alert(1)', notify_url: 'data:x', server_url: 'javascript:x', user: 'U', meta: { domain: 'a b/c' } })).toEqual({});
    expect(eventLinks({ server_url: 'https://x.org', server_script_path: '//evil.org', user: 'U' }).user?.host).toBe('x.org');
  });

  it('removes wikitext noise from comments and leaves other text alone', () => {
    expect(plainComment("/* History */ fix [[Foo bar|foo]] and [[Baz]], see [https://example.org the ''source'']")).toBe('→History: fix foo and Baz, see the source');
    expect(plainComment('/* Section */')).toBe('→Section');
    expect(plainComment('/* */ MOS:LINK')).toBe('MOS:LINK');
    expect(plainComment('[[:Category:X]] <b>kept</b> a: b')).toBe('Category:X <b>kept</b> a: b');
  });

  it('shows the date only for events not from today', () => {
    const now = new Date(2026, 11, 3, 12, 0, 0).getTime();
    const today = new Date(2026, 11, 3, 6, 32, 0).getTime();
    expect(eventTimeText(today, now)).toBe(new Date(today).toLocaleTimeString());
    const earlier = new Date(2026, 11, 1, 6, 32, 0).getTime();
    expect(eventTimeText(earlier, now)).toBe(`${new Date(earlier).toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${new Date(earlier).toLocaleTimeString()}`);
    expect(eventTimeText(new Date(2025, 0, 1).getTime(), now)).toContain('2025');
  });

  it('reads and writes free "ago" durations', () => {
    expect([parseAgo('10m'), parseAgo('2h'), parseAgo('3d'), parseAgo('1h30m'), parseAgo(' 90 s '), parseAgo('1w')]).toEqual([
      600_000, 7_200_000, 259_200_000, 5_400_000, 90_000, 604_800_000,
    ]);
    for (const bad of ['', '10', 'm', '-5m', '5 minutes', '0m', '1h x']) expect(parseAgo(bad)).toBeUndefined();
    expect([600_000, 3_600_000, 5_400_000, 86_400_000, 1500].map(formatAgo)).toEqual(['10m', '1h', '90m', '1d', '2s']);
  });
});

describe('readable URLs in snippets', () => {
  it('decodes only escapes the query does not need, so the URL means the same', () => {
    const url = 'http://h/v2/stream/a?length.new%3E=10&namespace%3C4&title=Talk%3A*&!comment&title=a%5C%2Cb,c%26d%3De%25%23%2B%20';
    expect(readableUrl(url)).toBe('http://h/v2/stream/a?length.new>=10&namespace<4&title=Talk:*&!comment&title=a%5C%2Cb,c%26d%3De%25%23%2B%20');
    // What a browser, fetch or requests send for it: the same query the server decodes.
    const decoded = (u: string) => [...new URL(u).searchParams].map(([k, v]) => `${k}=${v}`);
    expect(decoded(readableUrl(url))).toEqual(decoded(url));
  });
});

describe('replay progress', () => {
  it('follows event times up to the moment the stream opened', () => {
    const progress = new ReplayProgress(1_000_000, 1_600_000);
    expect(progress.event(1_300_000)).toBe(false);
    expect(progress.fraction).toBe(0.5);
    expect(progress.text(1_600_000)).toBe(`Replaying ${new Date(1_300_000).toLocaleTimeString()} of ${new Date(1_600_000).toLocaleTimeString()}, 1 event`);
    expect(progress.event(Number.NaN)).toBe(false);
    expect(progress.event(1_599_000)).toBe(true);
    expect([progress.caughtUp, progress.fraction, progress.count]).toEqual([true, 1, 3]);
    expect(progress.text(1_600_000)).toMatch(/^Caught up: live since .+, 3 events so far$/);
  });

  it('is caught up when the server goes quiet, even if the last events were old', () => {
    const progress = new ReplayProgress(undefined, 1_600_000);
    progress.event(1_000_000);
    expect(progress.idle()).toBe(true);
    expect(progress.idle()).toBe(false);
  });
});

describe('the hint for a view that received nothing', () => {
  const now = Date.parse('2026-03-04T12:00:00Z');
  const at = (ms: number) => new Date(ms).toLocaleTimeString();

  it('says since when the stream has been silent and suggests an earlier start', () => {
    expect(quietText({ since: now - 10_000, streams: 1, filtered: false }, now)).toBe(
      `Connected – no events yet. This stream has had no events since ${at(now - 10_000)}; it may be quiet. Try an earlier start (e.g. 1 hour ago) to see recent history.`,
    );
    expect(quietText({ since: undefined, streams: 2, filtered: false }, now)).toBe(
      'Connected – no events yet. These streams have had no events since the chosen position; they may be quiet. Try an earlier start (e.g. 1 hour ago) to see recent history.',
    );
  });

  it('suggests a start further back than the view already reaches, and none past a day', () => {
    expect(quietText({ since: now - 2 * 3_600_000, streams: 1, filtered: false }, now)).toMatch(/Try an earlier start \(e\.g\. 1 day ago\)/);
    const old = quietText({ since: now - 3 * 86_400_000, streams: 1, filtered: false }, now);
    expect(old).toMatch(/; it may be quiet\.$/);
    expect(old).not.toContain('earlier start');
  });

  it('points at the filters when the view has some', () => {
    expect(quietText({ since: now - 60_000, streams: 1, filtered: true }, now)).toBe(
      `Connected – no matching events yet. No event since ${at(now - 60_000)} matched the filters; it may be quiet, or the filters select nothing. Try an earlier start (e.g. 1 hour ago) or fewer filters.`,
    );
    expect(quietText({ since: now - 3 * 86_400_000, streams: 1, filtered: true }, now)).toMatch(/select nothing\. Try fewer filters\.$/);
  });
});

describe('chart data', () => {
  const events = [
    { ms: 1_000, data: { wiki: 'a', bot: false } },
    { ms: 1_500, data: { wiki: 'b', bot: true } },
    { ms: 2_100, data: { wiki_id: 'a' } },
    { ms: 9_000, data: { wiki: 'c' } },
    { ms: Number.NaN, data: { wiki: 'a' } },
  ];

  it('counts the most common values, from the first path an event has', () => {
    expect(topValues(events.map((e) => e.data), ['wiki', 'wiki_id'])).toEqual([['a', 3], ['b', 1], ['c', 1]]);
    expect(topValues(events.map((e) => e.data), ['bot'], 2)).toEqual([['(none)', 3], ['false', 1]]);
  });

  it('buckets event times, splitting by the given values and counting the rest as other', () => {
    const series = timeSeries(events, ['wiki', 'wiki_id'], ['a']);
    expect(series?.start).toBe(1000);
    expect(series?.width).toBe(1000);
    expect(series?.buckets.map((b) => Object.fromEntries(b))).toEqual([{ a: 1, [OTHER]: 1 }, { a: 1 }, {}, {}, {}, {}, {}, {}, { [OTHER]: 1 }]);
    // A long span takes wider buckets, at most 40 of them.
    const long = timeSeries([{ ms: 0, data: {} }, { ms: 3_600_000, data: {} }], ['wiki'], []);
    expect([long?.width, long?.buckets.length]).toEqual([300_000, 13]);
    expect(timeSeries([{ ms: Number.NaN, data: {} }], ['wiki'], [])).toBeUndefined();
  });
});
