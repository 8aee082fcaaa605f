import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../src/event/codec.ts';
import { PositionIds } from '../../src/stream/position-ids.ts';
import { dataLine, sseEvent, sseMessageHead, sseRetry } from '../../src/event/frame.ts';
import type { KafkaMessage } from '../../src/kafka/records.ts';

const message = (value: string | null, extra: Partial<KafkaMessage> = {}): KafkaMessage => ({
  topic: 'eqiad.mediawiki.recentchange',
  partition: 0,
  offset: 42,
  timestamp: 1700000000000,
  key: null,
  value: value === null ? null : Buffer.from(value),
  ...extra,
});

describe('SSE framing', () => {
  it('writes event, id, data in that order, one line each, ending with a blank line', () => {
    expect(sseMessageHead('[1]') + dataLine('{"a":1}')).toBe('event: message\nid: [1]\ndata: {"a":1}\n\n');
    expect(sseEvent('error', '[2]', '{"m":"x"}')).toBe('event: error\nid: [2]\ndata: {"m":"x"}\n\n');
    expect(sseEvent('notice', undefined, '{}')).toBe('event: notice\ndata: {}\n\n');
    expect(sseRetry(2000.4)).toBe('retry: 2000\n\n');
  });

  it('escapes U+2028, U+2029 and U+0085 in data lines built from text (projections, sanitized events, notices)', () => {
    const json = JSON.stringify({ t: 'a\u2028b\u2029c\u0085d\u00a0' });
    expect(dataLine(json)).toBe('data: {"t":"a\\u2028b\\u2029c\\u0085d\u00a0"}\n\n');
    expect(JSON.parse(dataLine(json).slice(6, -2))).toEqual(JSON.parse(json));
    expect(sseEvent('notice', undefined, json)).toBe('event: notice\ndata: {"t":"a\\u2028b\\u2029c\\u0085d\u00a0"}\n\n');
  });
});

describe('decodeMessage', () => {
  it('adds meta.topic, partition and offset after the existing meta fields', () => {
    const decoded = decodeMessage(message('{"$schema":"/x/1.0.0","meta":{"id":"u","domain":"en.wikipedia.org"},"title":"T"}'), 1e6);
    expect(decoded).toEqual({
      ok: true,
      canary: false,
      data: '{"$schema":"/x/1.0.0","meta":{"id":"u","domain":"en.wikipedia.org","topic":"eqiad.mediawiki.recentchange","partition":0,"offset":42},"title":"T"}',
    });
  });
  it('adds meta.key, parsed when the key is JSON and as text otherwise', () => {
    const json = decodeMessage(message('{"meta":{}}', { key: Buffer.from('{"wiki_id":"enwiki","page_id":7}') }), 1e6);
    expect(json.ok && JSON.parse(json.data).meta.key).toEqual({ wiki_id: 'enwiki', page_id: 7 });
    const text = decodeMessage(message('{"meta":{}}', { key: Buffer.from('plain') }), 1e6);
    expect(text.ok && JSON.parse(text.data).meta.key).toBe('plain');
  });
  it('creates meta when the event has none or a broken one', () => {
    const decoded = decodeMessage(message('{"meta":"oops","x":1}'), 1e6);
    expect(decoded.ok && JSON.parse(decoded.data)).toEqual({ meta: { topic: 'eqiad.mediawiki.recentchange', partition: 0, offset: 42 }, x: 1 });
  });
  it('flags canary events', () => {
    const decoded = decodeMessage(message('{"meta":{"domain":"canary"}}'), 1e6);
    expect(decoded.ok && decoded.canary).toBe(true);
  });
  it('keeps data on one line even when values contain line breaks', () => {
    const decoded = decodeMessage(message('{"comment":"a\\nb\\r\\nc\\u2028"}'), 1e6);
    expect(decoded.ok && /[\r\n]/.test(decoded.data)).toBe(false);
  });
  it.each([
    ['null value', null, 'null_value'],
    ['empty value', '', 'null_value'],
    ['not JSON', 'hello', 'not_json'],
    ['a JSON array', '[1,2]', 'not_object'],
    ['a JSON string', '"x"', 'not_object'],
    ['JSON null', 'null', 'not_object'],
  ])('skips %s', (_name, value, reason) => {
    expect(decodeMessage(message(value), 1e6)).toEqual({ ok: false, reason });
  });
  it('skips values over the size limit without parsing them', () => {
    expect(decodeMessage(message(`{"a":"${'x'.repeat(100)}"}`), 50)).toEqual({ ok: false, reason: 'too_large' });
  });
});

describe('PositionIds', () => {
  const starts = [
    { topic: 'eqiad.rc', partition: 0, offset: 10 },
    { topic: 'codfw.rc', partition: 0, offset: 7 },
  ];
  it('gives partitions that delivered nothing their concrete start offset, never -1', () => {
    expect(new PositionIds(starts).toString()).toBe(
      '[{"topic":"eqiad.rc","partition":0,"offset":10},{"topic":"codfw.rc","partition":0,"offset":7}]',
    );
  });
  it('moves a partition to timestamp + 1 with a count of events in that millisecond', () => {
    const ids = new PositionIds(starts);
    ids.advance(0, 10, 1000);
    expect(JSON.parse(ids.toString())).toEqual([
      { topic: 'eqiad.rc', partition: 0, timestamp: 1001, ts_seen: 1 },
      { topic: 'codfw.rc', partition: 0, offset: 7 },
    ]);
    ids.advance(0, 11, 1000);
    expect(JSON.parse(ids.toString())[0]).toEqual({ topic: 'eqiad.rc', partition: 0, timestamp: 1001, ts_seen: 2 });
    ids.advance(0, 12, 1005);
    expect(JSON.parse(ids.toString())[0]).toEqual({ topic: 'eqiad.rc', partition: 0, timestamp: 1006, ts_seen: 1 });
  });
  it('answers in offsets for partitions the client resumed by offset', () => {
    const ids = new PositionIds([{ topic: 'eqiad.rc', partition: 0, offset: 10, requested: { topic: 'eqiad.rc', partition: 0, offset: 10 } }]);
    ids.advance(0, 10, 1000);
    expect(ids.toString()).toBe('[{"topic":"eqiad.rc","partition":0,"offset":11}]');
  });
  it('keeps an exactly resolved timestamp as a timestamp (valid in the other data centre)', () => {
    const ids = new PositionIds([
      { topic: 'a', partition: 0, offset: 5, requested: { since: 1234 } },
      { topic: 'b', partition: 0, offset: 5, requested: { topic: 'b', partition: 0, timestamp: 99, tsSeen: 2 } },
      { topic: 'c', partition: 0, offset: 5, requested: { since: 9e12 }, notice: 'timestamp_in_future' as const },
    ]);
    expect(JSON.parse(ids.toString())).toEqual([
      { topic: 'a', partition: 0, timestamp: 1234 },
      { topic: 'b', partition: 0, timestamp: 99, ts_seen: 2 },
      { topic: 'c', partition: 0, offset: 5 },
    ]);
  });
  it('continues the millisecond count when resuming inside a millisecond', () => {
    const ids = new PositionIds([{ topic: 'b', partition: 0, offset: 5, requested: { topic: 'b', partition: 0, timestamp: 100, tsSeen: 2 } }]);
    ids.advance(0, 5, 99);
    expect(JSON.parse(ids.toString())).toEqual([{ topic: 'b', partition: 0, timestamp: 100, ts_seen: 3 }]);
  });
  it('gives a start at the end its place in time, valid in the other data centre, and counts on within its millisecond', () => {
    const ids = new PositionIds([
      { topic: 'a', partition: 0, offset: 5, after: { timestamp: 100, tsSeen: 2 } },
      { topic: 'b', partition: 0, offset: 0 },
    ]);
    expect(JSON.parse(ids.toString())).toEqual([
      { topic: 'a', partition: 0, timestamp: 100, ts_seen: 2 },
      { topic: 'b', partition: 0, offset: 0 },
    ]);
    ids.advance(0, 5, 99);
    expect(JSON.parse(ids.toString())[0]).toEqual({ topic: 'a', partition: 0, timestamp: 100, ts_seen: 3 });
  });
  it('ignores slots it does not have and can be reset after a lost position', () => {
    const ids = new PositionIds(starts);
    ids.advance(7, 1, 1);
    ids.advance(0, 10, 1000);
    ids.reset({ topic: 'eqiad.rc', partition: 0, offset: 50, notice: 'offset_before_earliest' });
    expect(JSON.parse(ids.toString())[0]).toEqual({ topic: 'eqiad.rc', partition: 0, offset: 50 });
  });
});

describe('StreamSlots', async () => {
  const { StreamSlots } = await import('../../src/admission/stream-slots.ts');
  it('allows up to the limit per client and frees slots on release', () => {
    const slots = new StreamSlots(2, 0);
    expect([slots.acquire('a'), slots.acquire('a'), slots.acquire('a'), slots.acquire('b')]).toEqual([undefined, undefined, 'client', undefined]);
    slots.release('a');
    expect(slots.acquire('a')).toBeUndefined();
    expect(slots.count('a')).toBe(2);
    slots.release('b');
    expect(slots.count('b')).toBe(0);
    expect(slots.open).toBe(2);
  });
  it('caps the streams of all clients together, whatever their number', () => {
    const slots = new StreamSlots(2, 3);
    expect(['a', 'b', 'c', 'd'].map((c) => slots.acquire(c))).toEqual([undefined, undefined, undefined, 'total']);
    slots.release('b');
    expect(slots.acquire('d')).toBeUndefined();
    // A release of a client holding nothing frees nothing.
    slots.release('zzz');
    expect(slots.acquire('e')).toBe('total');
  });
  it('treats 0 as unlimited', () => {
    const slots = new StreamSlots(0, 0);
    for (let i = 0; i < 100; i++) expect(slots.acquire('a')).toBeUndefined();
  });
});
