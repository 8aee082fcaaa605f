import { describe, expect, it } from 'vitest';
import { negotiateFormat } from '../../src/protocol/content-type.ts';
import { LAST_EVENT_ID_LIMITS, parseLastEventId } from '../../src/protocol/last-event-id.ts';
import { parseSince } from '../../src/protocol/since.ts';

describe('parseSince', () => {
  it('treats absent and empty as no position', () => {
    expect(parseSince(undefined)).toEqual({ ok: true });
    expect(parseSince('')).toEqual({ ok: true });
    expect(parseSince('   ')).toEqual({ ok: true });
  });
  it('reads integers as epoch milliseconds', () => {
    expect(parseSince('1532031066001')).toEqual({ ok: true, timestamp: 1532031066001 });
    expect(parseSince('0')).toEqual({ ok: true, timestamp: 0 });
  });
  it('reads ISO-8601 dates, with and without zone', () => {
    expect(parseSince('2026-08-04T15:24:29.724Z')).toEqual({ ok: true, timestamp: Date.parse('2026-08-04T15:24:29.724Z') });
    expect(parseSince('2026-08-04T17:24:29+02:00')).toEqual({ ok: true, timestamp: Date.parse('2026-08-04T15:24:29Z') });
    expect(parseSince('2026-08-04')).toEqual({ ok: true, timestamp: Date.parse('2026-08-04') });
  });
  it('refuses garbage, negatives and absurd values with a message', () => {
    for (const bad of ['yesterday', '12abc', '-5', '99999999999999999999', 'x'.repeat(100), '2026-13-45T99:00:00Z']) {
      const result = parseSince(bad);
      expect(result.ok, bad).toBe(false);
      if (!result.ok) expect(result.error).toMatch(/since/);
    }
  });
});

describe('parseLastEventId', () => {
  it('accepts the original service ids: timestamps and offset -1', () => {
    const raw = '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":1532031066001},{"topic":"codfw.mediawiki.recentchange","partition":0,"offset":-1}]';
    expect(parseLastEventId(raw)).toEqual({
      ok: true,
      positions: [
        { topic: 'eqiad.mediawiki.recentchange', partition: 0, timestamp: 1532031066001 },
        { topic: 'codfw.mediawiki.recentchange', partition: 0, offset: -1 },
      ],
    });
  });
  it('accepts topic names, offsets with timestamps and our ts_seen extension', () => {
    const raw = JSON.stringify(['eqiad.a', { topic: 'b', partition: 3, offset: 12, timestamp: 5 }, { topic: 'c', partition: 0, timestamp: 9, ts_seen: 2 }]);
    expect(parseLastEventId(raw)).toEqual({
      ok: true,
      positions: ['eqiad.a', { topic: 'b', partition: 3, offset: 12, timestamp: 5 }, { topic: 'c', partition: 0, timestamp: 9, tsSeen: 2 }],
    });
  });
  it('treats absent, blank and [] as no position', () => {
    expect(parseLastEventId(undefined)).toEqual({ ok: true, positions: [] });
    expect(parseLastEventId('  ')).toEqual({ ok: true, positions: [] });
    expect(parseLastEventId('[]')).toEqual({ ok: true, positions: [] });
  });
  it.each([
    ['not json', '{nope'],
    ['an object', '{"topic":"a"}'],
    ['a number', '42'],
    ['a bad topic name', '["../../etc/passwd"]'],
    ['an empty topic', '[""]'],
    ['a missing partition', '[{"topic":"a","offset":1}]'],
    ['a negative partition', '[{"topic":"a","partition":-1,"offset":1}]'],
    ['a fractional offset', '[{"topic":"a","partition":0,"offset":1.5}]'],
    ['an offset below -2', '[{"topic":"a","partition":0,"offset":-3}]'],
    ['a string offset', '[{"topic":"a","partition":0,"offset":"5"}]'],
    ['a string timestamp', '[{"topic":"a","partition":0,"timestamp":"2020-01-01"}]'],
    ['no offset nor timestamp', '[{"topic":"a","partition":0}]'],
    ['a duplicate partition', '[{"topic":"a","partition":0,"offset":1},{"topic":"a","partition":0,"offset":2}]'],
    ['a nested array', '[[1]]'],
    ['null', '[null]'],
  ])('refuses %s', (_name, raw) => {
    const result = parseLastEventId(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/Last-Event-ID/);
  });
  it('refuses oversized headers and too many entries cheaply', () => {
    expect(parseLastEventId(`["${'a'.repeat(LAST_EVENT_ID_LIMITS.maxLength)}"]`).ok).toBe(false);
    const many = JSON.stringify(Array.from({ length: LAST_EVENT_ID_LIMITS.maxEntries + 1 }, (_, i) => ({ topic: 't', partition: i, offset: 0 })));
    expect(parseLastEventId(many).ok).toBe(false);
  });
});

describe('negotiateFormat', () => {
  it('follows EventStreams: none -> plain SSE, application/json* -> NDJSON, else SSE with charset', () => {
    expect(negotiateFormat(undefined)).toEqual({ format: 'sse', contentType: 'text/event-stream' });
    expect(negotiateFormat('text/event-stream')).toEqual({ format: 'sse', contentType: 'text/event-stream; charset=utf-8' });
    expect(negotiateFormat('*/*')).toEqual({ format: 'sse', contentType: 'text/event-stream; charset=utf-8' });
    expect(negotiateFormat('application/json')).toEqual({ format: 'ndjson', contentType: 'application/json; charset=utf-8' });
    expect(negotiateFormat('application/json; q=1, text/plain')).toEqual({ format: 'ndjson', contentType: 'application/json; charset=utf-8' });
    expect(negotiateFormat('text/html, application/json')).toEqual({ format: 'sse', contentType: 'text/event-stream; charset=utf-8' });
  });
  it('reads q-values: a refused or lesser application/json is not NDJSON', () => {
    const sse = { format: 'sse', contentType: 'text/event-stream; charset=utf-8' };
    const ndjson = { format: 'ndjson', contentType: 'application/json; charset=utf-8' };
    expect(negotiateFormat('application/json;q=0')).toEqual(sse);
    expect(negotiateFormat('application/json; q=0, text/event-stream')).toEqual(sse);
    expect(negotiateFormat('application/json;q=0.5, text/event-stream')).toEqual(sse);
    expect(negotiateFormat('text/event-stream;q=0.1, application/json')).toEqual(ndjson);
    expect(negotiateFormat('Application/JSON')).toEqual(ndjson);
    expect(negotiateFormat('application/json;charset=utf-8')).toEqual(ndjson);
    expect(negotiateFormat(',,;;q=,garbage/')).toEqual(sse);
  });
});
