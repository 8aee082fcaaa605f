import { describe, expect, it } from 'vitest';
import { FILTER_LIMITS, parseFilterQuery, type Clause, type FilterQuery } from '../../src/filter/parse.ts';

function parsed(query: string): FilterQuery {
  const result = parseFilterQuery(query);
  if (!result.ok) throw new Error(`expected ${query} to parse: ${result.error}`);
  return result.query;
}

function only(query: string): Clause {
  const { clauses } = parsed(query);
  expect(clauses).toHaveLength(1);
  return clauses[0] as Clause;
}

function refused(query: string): string {
  const result = parseFilterQuery(query);
  if (result.ok) throw new Error(`expected ${query} to be refused`);
  return result.error;
}

describe('parseFilterQuery: operators', () => {
  it('reads equality with several values as one clause', () => {
    expect(only('wiki=enwiki,dewiki')).toEqual({ path: 'wiki', segments: ['wiki'], op: 'eq', values: [{ text: 'enwiki' }, { text: 'dewiki' }] });
  });

  it('reads != >= <= on the key side of the = sign', () => {
    expect(only('bot!=true')).toMatchObject({ path: 'bot', op: 'ne', values: [{ text: 'true' }] });
    expect(only('length.new>=10000')).toMatchObject({ path: 'length.new', segments: ['length', 'new'], op: 'ge', values: [{ text: '10000' }] });
    expect(only('namespace<=4')).toMatchObject({ path: 'namespace', op: 'le' });
  });

  it('reads strict < and > without an = sign, raw or percent-encoded as browsers send them', () => {
    expect(only('namespace<100')).toMatchObject({ path: 'namespace', op: 'lt', values: [{ text: '100' }] });
    expect(only('namespace%3C100')).toMatchObject({ path: 'namespace', op: 'lt', values: [{ text: '100' }] });
    expect(only('length.old>5')).toMatchObject({ path: 'length.old', op: 'gt', values: [{ text: '5' }] });
    expect(only('length.old%3E%3D5')).toMatchObject({ path: 'length.old', op: 'ge', values: [{ text: '5' }] });
    expect(only(encodeURIComponent('length.new>') + '=' + encodeURIComponent('10'))).toMatchObject({ op: 'ge' });
    expect(only(encodeURIComponent('bot!=true'))).toMatchObject({ path: 'bot', op: 'ne', values: [{ text: 'true' }] });
    expect(only(encodeURIComponent('wiki=enwiki'))).toMatchObject({ path: 'wiki', op: 'eq', values: [{ text: 'enwiki' }] });
  });

  it('reads a bare name as present and !name as absent', () => {
    expect(only('comment')).toEqual({ path: 'comment', segments: ['comment'], op: 'present', values: [] });
    expect(only('!comment')).toEqual({ path: 'comment', segments: ['comment'], op: 'absent', values: [] });
    expect(only('%21performer.user_id')).toMatchObject({ path: 'performer.user_id', op: 'absent' });
  });

  it('ANDs several clauses, repeated fields included', () => {
    const { clauses } = parsed('wiki=enwiki&type=edit&bot!=true&performer.user_groups=sysop&performer.user_groups=bot');
    expect(clauses.map((c) => `${c.path} ${c.op}`)).toEqual(['wiki eq', 'type eq', 'bot ne', 'performer.user_groups eq', 'performer.user_groups eq']);
  });

  it('skips since, empty pieces and reads fields as the projection', () => {
    const query = parsed('since=2026-01-01&&fields=meta.dt,title,%20user&wiki=enwiki');
    expect(query.clauses.map((c) => c.path)).toEqual(['wiki']);
    expect(query.fields).toEqual([['meta', 'dt'], ['title'], ['user']]);
    expect(parsed('since').clauses).toEqual([]);
    expect(parsed('').clauses).toEqual([]);
  });
});

describe('parseFilterQuery: values', () => {
  it('reads * as a glob and keeps the literal pieces between the stars', () => {
    expect(only('title=Talk:*').values).toEqual([{ text: 'Talk:*', glob: ['Talk:', ''] }]);
    expect(only('meta.domain=*.wikipedia.org').values).toEqual([{ text: '*.wikipedia.org', glob: ['', '.wikipedia.org'] }]);
  });

  it('escapes commas, stars and backslashes with a backslash, whatever the URL encoding', () => {
    expect(only('title=a\\,b,c').values).toEqual([{ text: 'a,b' }, { text: 'c' }]);
    expect(only(`title=${encodeURIComponent('a\\,b')}`).values).toEqual([{ text: 'a,b' }]);
    expect(only('title=5\\*3').values).toEqual([{ text: '5*3' }]);
    expect(only('title=C:\\\\dir').values).toEqual([{ text: 'C:\\dir' }]);
    expect(only('title=a\\*b*').values).toEqual([{ text: 'a\\*b*', glob: ['a*b', ''] }]);
  });

  it('decodes percent-encoding and + as a space, as form encoders send it', () => {
    expect(only('title=Main+Page').values).toEqual([{ text: 'Main Page' }]);
    expect(only('title=%C3%85land%2B1').values).toEqual([{ text: 'Åland+1' }]);
    expect(only('title=a=b').values).toEqual([{ text: 'a=b' }]);
  });

  it('keeps = signs in the value of a strict comparison written with one', () => {
    expect(only('a<b=c')).toMatchObject({ path: 'a', op: 'lt', values: [{ text: 'b=c' }] });
  });
});

describe('parseFilterQuery: refusals say what is wrong', () => {
  it.each([
    ['wiki=', /No value given for `wiki`.*`wiki` \(present\)/],
    ['wiki=a,,b', /Empty value/],
    ['=enwiki', /needs a field name/],
    ['!=x', /needs a field name/],
    ['<5', /needs a field name/],
    ['wiki..x=1', /not a field path/],
    ['wi%20ki=1', /not a field path/],
    ['title=%E0%A4%A', /Malformed percent-encoding/],
    ['%zz', /Malformed percent-encoding/],
    ['length.new>=1,2', /takes one value/],
    ['length.new>=1*', /patterns work only with = and !=/],
    ['title=a\\b', /escapes only/],
    ['fields=', /needs at least one field path/],
    ['fields=a&fields=b', /only once/],
    ['fields=a,,b', /needs a field name/],
  ])('%s', (query, message) => {
    expect(refused(query)).toMatch(message);
  });

  it('enforces the limits on clauses, values, lengths, depth, stars and fields', () => {
    expect(refused(Array.from({ length: FILTER_LIMITS.clauses + 1 }, (_, i) => `f${i}=1`).join('&'))).toMatch(/At most 32 filter clauses/);
    expect(refused(`wiki=${Array.from({ length: FILTER_LIMITS.valuesPerClause + 1 }, (_, i) => `w${i}`).join(',')}`)).toMatch(/At most 1000 values/);
    const many = Array.from({ length: 5 }, (_, c) => `f${c}=${Array.from({ length: 900 }, (_, i) => `v${i}`).join(',')}`).join('&');
    expect(refused(many)).toMatch(/At most 4000 filter values/);
    expect(refused(`title=${'x'.repeat(FILTER_LIMITS.valueLength + 1)}`)).toMatch(/at most 1024 characters/);
    expect(refused(`${'a'.repeat(FILTER_LIMITS.pathLength + 1)}=1`)).toMatch(/at most 256 characters/);
    expect(refused(`${Array.from({ length: FILTER_LIMITS.pathDepth + 1 }, () => 'a').join('.')}=1`)).toMatch(/levels deep/);
    expect(refused(`title=${'a*'.repeat(FILTER_LIMITS.starsPerValue + 1)}`)).toMatch(/At most 8 `\*`/);
    expect(refused(`fields=${Array.from({ length: FILTER_LIMITS.fields + 1 }, (_, i) => `f${i}`).join(',')}`)).toMatch(/At most 100 paths/);
  });
});

describe('parseFilterQuery: hostile input', () => {
  // A small deterministic generator, so a failure can be replayed.
  function random(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
      state = (state * 1664525 + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
  }
  const alphabet = ['a', 'Z', '9', '.', '_', '=', '!', '<', '>', '&', ',', '*', '\\', '%', '%2', '%3C', '%E0', '+', ' ', '"', "'", '\u0000', 'é', '😀', '\n', '[', '{', '$', '@', '-'];

  it('never throws on 20,000 random query strings, and every refusal has a message', () => {
    const next = random(42);
    for (let i = 0; i < 20_000; i++) {
      const length = Math.floor(next() * 60);
      let query = '';
      for (let j = 0; j < length; j++) query += alphabet[Math.floor(next() * alphabet.length)];
      const result = parseFilterQuery(query);
      if (!result.ok) expect(result.error.length).toBeGreaterThan(0);
      else for (const clause of result.query.clauses) expect(clause.segments.join('.')).toBe(clause.path);
    }
  });

  it('refuses deep, long and huge inputs', () => {
    expect(parseFilterQuery(`${'a.'.repeat(50_000)}b=1`).ok).toBe(false);
    expect(parseFilterQuery(`title=${'*'.repeat(100_000)}`).ok).toBe(false);
    expect(parseFilterQuery(`title=${'\\,'.repeat(100_000)}`).ok).toBe(false);
    expect(parseFilterQuery('&'.repeat(100_000)).ok).toBe(true);
    expect(parseFilterQuery(`${'x=1&'.repeat(10_000)}`).ok).toBe(false);
  });
});
