import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkQuery, type FieldScope } from '../../src/filter/check.ts';
import { compileFilter, indexKey, type EventFilter } from '../../src/filter/compile.ts';
import { globMatch } from '../../src/filter/glob.ts';
import { parseFilterQuery } from '../../src/filter/parse.ts';
import { compileProjection } from '../../src/filter/project.ts';
import { schemaFields } from '../../src/filter/schema-fields.ts';
import { recentchanges } from '../support/events.ts';

const schema = (file: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(`../../config/schemas/${file}`, import.meta.url), 'utf8')) as Record<string, unknown>;
const recentchange: FieldScope = { schemas: [schemaFields(schema('mediawiki/recentchange/1.0.1.json'))], schemaless: false };
const pageChange: FieldScope = { schemas: [schemaFields(schema('mediawiki/page/change/1.3.0.json'))], schemaless: false };
const schemaless: FieldScope = { schemas: [], schemaless: true };

function compiled(query: string, scope: FieldScope = recentchange): EventFilter {
  const parsed = parseFilterQuery(query);
  if (!parsed.ok) throw new Error(parsed.error);
  const checked = checkQuery(parsed.query, scope);
  if (!checked.ok) throw new Error(checked.problem.message);
  const filter = compileFilter(checked.clauses);
  if (filter === undefined) throw new Error('no clauses');
  return filter;
}

function problem(query: string, scope: FieldScope = recentchange) {
  const parsed = parseFilterQuery(query);
  if (!parsed.ok) throw new Error(parsed.error);
  const checked = checkQuery(parsed.query, scope);
  if (checked.ok) throw new Error(`expected ${query} to be refused`);
  return checked.problem;
}

type Event = Record<string, unknown>;
const count = (filter: EventFilter, events: Event[] = recentchanges): number => events.filter((e) => filter.matches(e)).length;
const where = (test: (e: Event) => boolean): number => recentchanges.filter(test).length;
const num = (e: Event, a: string, b: string): number | undefined => ((e[a] as Record<string, unknown> | undefined)?.[b] as number | undefined);

describe('filters on the 300 real recentchange events', () => {
  it('selects wikis, types and bots as a hand-written test of the same events does', () => {
    expect(count(compiled('wiki=enwiki,dewiki'))).toBe(where((e) => e.wiki === 'enwiki' || e.wiki === 'dewiki'));
    expect(count(compiled('wiki=enwiki,dewiki'))).toBeGreaterThan(0);
    expect(count(compiled('bot!=true'))).toBe(where((e) => e.bot !== true));
    expect(count(compiled('bot=false&type=edit'))).toBe(where((e) => e.bot === false && e.type === 'edit'));
    expect(count(compiled('type!=log,categorize'))).toBe(where((e) => e.type !== 'log' && e.type !== 'categorize'));
  });

  it('compares numbers, nested ones included', () => {
    expect(count(compiled('length.new>=10000'))).toBe(where((e) => (num(e, 'length', 'new') ?? -Infinity) >= 10000));
    expect(count(compiled('length.new>=10000'))).toBeGreaterThan(0);
    expect(count(compiled('namespace<100'))).toBe(where((e) => (e.namespace as number) < 100));
    expect(count(compiled('namespace>0&namespace<=14'))).toBe(where((e) => (e.namespace as number) > 0 && (e.namespace as number) <= 14));
    expect(count(compiled('namespace=0,14'))).toBe(where((e) => e.namespace === 0 || e.namespace === 14));
  });

  it('compares date-time strings as times', () => {
    const sorted = recentchanges.map((e) => (e.meta as Event).dt as string).sort();
    const middle = sorted[150] as string;
    expect(count(compiled(`meta.dt>=${middle}`))).toBe(where((e) => Date.parse((e.meta as Event).dt as string) >= Date.parse(middle)));
  });

  it('matches globs on text: prefixes, suffixes and inner pieces', () => {
    expect(count(compiled('meta.domain=*.wikipedia.org'))).toBe(where((e) => ((e.meta as Event).domain as string).endsWith('.wikipedia.org')));
    expect(count(compiled('title=Category:*'))).toBe(where((e) => (e.title as string).startsWith('Category:')));
    expect(count(compiled('title=*:*'))).toBe(where((e) => (e.title as string).includes(':')));
    expect(count(compiled('title!=Category:*'))).toBe(where((e) => !(e.title as string).startsWith('Category:')));
  });

  it('tests presence and absence (null counts as absent)', () => {
    expect(count(compiled('log_type'))).toBe(where((e) => e.log_type !== undefined && e.log_type !== null));
    expect(count(compiled('!log_type'))).toBe(where((e) => e.log_type === undefined || e.log_type === null));
    expect(count(compiled('revision.new'))).toBe(where((e) => num(e, 'revision', 'new') !== undefined));
  });

  it('matches null where the schema allows it', () => {
    expect(count(compiled('log_type=null'))).toBe(where((e) => e.log_type === null));
  });
});

describe('filters on lists and nested objects (page_change)', () => {
  const event: Event = {
    page_change_kind: 'edit',
    performer: { user_text: 'Ann', groups: ['*', 'user', 'sysop'], is_bot: false },
    revision: { rev_id: 7, content_slots: { main: { content_model: 'wikitext' } } },
  };

  it('matches when any element of a list matches, and != when none does', () => {
    expect(compiled('performer.groups=sysop', pageChange).matches(event)).toBe(true);
    expect(compiled('performer.groups=bot', pageChange).matches(event)).toBe(false);
    expect(compiled('performer.groups!=bot', pageChange).matches(event)).toBe(true);
    expect(compiled('performer.groups!=sysop', pageChange).matches(event)).toBe(false);
    expect(compiled('performer.groups=sysop&performer.groups=user', pageChange).matches(event)).toBe(true);
    expect(compiled('performer.is_bot=false&revision.rev_id>=7', pageChange).matches(event)).toBe(true);
  });

  it('treats a literal * (escaped) as text, not as a glob', () => {
    expect(compiled('performer.groups=\\*', pageChange).matches(event)).toBe(true);
    expect(compiled('performer.groups=\\*', pageChange).matches({ performer: { groups: ['user'] } })).toBe(false);
  });

  it('reaches into maps by key, typed by the schema of their values', () => {
    expect(compiled('revision.content_slots.main.content_model=wikitext', pageChange).matches(event)).toBe(true);
    expect(compiled('revision.content_slots.main.content_model=json', pageChange).matches(event)).toBe(false);
    expect(problem('revision.content_slots.main.nope=1', pageChange).message).toMatch(/Unknown field/);
    expect(problem('revision.rev_id=x', pageChange).message).toMatch(/is an integer/);
  });
});

describe('schema checks', () => {
  it('refuses unknown fields and lists the valid ones with their types', () => {
    const p = problem('wikii=enwiki');
    expect(p.message).toMatch(/Unknown field `wikii`/);
    expect(p.field).toBe('wikii');
    expect(p.validFields).toContainEqual({ path: 'wiki', type: 'string' });
    expect(p.validFields).toContainEqual({ path: 'length.new', type: 'integer|null' });
    expect(p.validFields).toContainEqual({ path: 'meta.offset', type: 'integer' });
    expect(problem('fields=title,nope').message).toMatch(/Unknown field `nope`/);
  });

  it('refuses values of the wrong type', () => {
    expect(problem('namespace=abc').message).toBe('`namespace` is an integer: `abc` is not');
    expect(problem('bot=yes').message).toMatch(/`bot` is a boolean: `yes` is not/);
    expect(problem('namespace=1.5').message).toMatch(/is an integer/);
    expect(problem('length.new>=big').message).toMatch(/needs a number/);
  });

  it('refuses operators that make no sense for the type', () => {
    expect(problem('title>=A').message).toMatch(/`title` is a string: >= compares numbers and date-times only/);
    expect(problem('namespace=1*').message).toMatch(/`\*` patterns match text, but `namespace` is an integer/);
    expect(problem('length=5').message).toMatch(/`length` is an object/);
    expect(problem('meta.dt>=yesterday').message).toMatch(/needs an ISO-8601 date-time/);
  });

  it('accepts any path for a stream without a schema and types values by what the event holds', () => {
    const filter = compiled('anything.goes=5', schemaless);
    expect(filter.matches({ anything: { goes: 5 } })).toBe(true);
    expect(filter.matches({ anything: { goes: '5' } })).toBe(true);
    expect(filter.matches({ anything: { goes: 6 } })).toBe(false);
    expect(compiled('flag=true', schemaless).matches({ flag: true })).toBe(true);
    expect(compiled('flag=true', schemaless).matches({ flag: 'true' })).toBe(true);
    expect(compiled('n>3', schemaless).matches({ n: 4 })).toBe(true);
    expect(compiled('n>3', schemaless).matches({ n: '4' })).toBe(false);
    expect(problem('n>abc', schemaless).message).toMatch(/needs a number or an ISO-8601 date-time/);
  });

  it('accepts a field that one of several requested streams has', () => {
    const both: FieldScope = { schemas: [...recentchange.schemas, ...pageChange.schemas], schemaless: false };
    expect(compiled('wiki=enwiki', both).matches({ wiki: 'enwiki' })).toBe(true);
    expect(compiled('page_change_kind=edit', both).matches({ wiki: 'enwiki' })).toBe(false);
    expect(problem('nope=1', both).message).toMatch(/Unknown field/);
  });

  it('never throws on random clauses against the real schema', () => {
    const paths = ['wiki', 'namespace', 'length.new', 'meta.dt', 'bot', 'title', 'nope', 'meta', 'log_params.x', 'revision.old'];
    const values = ['1', '-3', 'abc', 'true', 'null', '*', 'a*', '2026-01-01', '1e3', ''];
    const ops = ['=', '!=', '>=', '<=', '<', '>'];
    for (const path of paths) {
      for (const op of ops) {
        for (const value of values) {
          const parsed = parseFilterQuery(`${path}${op}${encodeURIComponent(value)}`);
          if (!parsed.ok) continue;
          const checked = checkQuery(parsed.query, recentchange);
          if (checked.ok) for (const e of recentchanges.slice(0, 20)) expect(typeof compileFilter(checked.clauses)?.matches(e)).toBe('boolean');
          else expect(checked.problem.message.length).toBeGreaterThan(0);
        }
      }
    }
  });
});

describe('compiled filters', () => {
  it('give equal keys to equal filters written in another order', () => {
    expect(compiled('wiki=enwiki&bot=false').key).toBe(compiled('bot=false&wiki=enwiki').key);
    expect(compiled('wiki=enwiki').key).not.toBe(compiled('wiki=dewiki').key);
  });

  it('offer the most selective exact equality as an index whose keys match indexKey of the values', () => {
    const filter = compiled('type=edit,new&wiki=enwiki&title=A*');
    expect(filter.index?.path).toBe('wiki');
    expect([...(filter.index?.keys ?? [])]).toEqual([indexKey('enwiki')]);
    expect(compiled('title=A*&bot!=true').index).toBeUndefined();
    // Equal counts of values: text splits events finer than numbers, numbers than booleans.
    expect(compiled('bot=false&wiki=enwiki').index?.path).toBe('wiki');
    expect(compiled('namespace=0&wiki=enwiki').index?.path).toBe('wiki');
    expect(compiled('bot=false&namespace=0').index?.path).toBe('namespace');
    expect([...(compiled('namespace=0', recentchange).index?.keys ?? [])]).toEqual([indexKey(0)]);
    // Without a schema, "5" may be text or a number in the event: both keys.
    expect(new Set(compiled('x=5', schemaless).index?.keys)).toEqual(new Set([indexKey('5'), indexKey(5)]));
  });

  it('index keys tell types apart', () => {
    expect(indexKey('1')).not.toBe(indexKey(1));
    expect(indexKey(true)).not.toBe(indexKey('true'));
    expect(indexKey(null)).not.toBe(indexKey('null'));
    expect(indexKey({})).toBeUndefined();
  });
});

describe('globMatch', () => {
  it.each([
    ['Talk:Foo', ['Talk:', ''], true],
    ['Talk', ['Talk:', ''], false],
    ['en.wikipedia.org', ['', '.wikipedia.org'], true],
    ['wikipedia.org', ['', '.wikipedia.org'], false],
    ['abcabc', ['a', 'c', 'c'], true],
    ['abc', ['a', 'c', 'c'], false],
    ['aXbYc', ['a', 'b', 'c'], true],
    ['ab', ['ab', 'b'], false],
    ['', ['', ''], true],
  ] as const)('%s ~ %j is %s', (text, pieces, expected) => {
    expect(globMatch(text, pieces)).toBe(expected);
  });

  it('stays linear on hostile patterns', () => {
    const text = 'a'.repeat(100_000);
    expect(globMatch(text, ['', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'b'])).toBe(false);
  });
});

describe('projection', () => {
  const event = recentchanges[0] as Event;

  it('sends only the requested fields and always the Kafka position', () => {
    const projected = compileProjection([['meta', 'dt'], ['title'], ['user'], ['length', 'new']]).project(event);
    const meta = event.meta as Event;
    expect(projected).toEqual({
      meta: { dt: meta.dt, topic: meta.topic, partition: meta.partition, offset: meta.offset },
      title: event.title,
      user: event.user,
      length: { new: num(event, 'length', 'new') },
    });
  });

  it('leaves out fields the event does not have, and keeps a whole object when asked for it', () => {
    expect(compileProjection([['nope'], ['meta']]).project(event)).toEqual({ meta: event.meta });
    expect(compileProjection([['meta'], ['meta', 'dt']]).key).toBe(compileProjection([['meta']]).key);
  });

  it('applies paths through lists to each element', () => {
    const projected = compileProjection([['items', 'a']]).project({ items: [{ a: 1, b: 2 }, { b: 3 }, 'x'], meta: { topic: 't' } });
    expect(projected).toEqual({ items: [{ a: 1 }, {}, undefined], meta: { topic: 't' } });
  });
});

describe('keys named like Object.prototype members (found by the hostile-input fuzz)', () => {
  const parsed = (json: string) => JSON.parse(json) as Event;

  it('fields=__proto__.x and constructor.prototype never write Object.prototype and project own keys only', () => {
    const projection = compileProjection([['__proto__', 'polluted'], ['constructor', 'prototype'], ['toString']]);
    expect(({} as Event)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    const event = parsed('{"__proto__":{"polluted":1,"other":2},"constructor":{"prototype":3},"b":4,"meta":{"topic":"t"}}');
    expect(JSON.stringify(projection.project(event))).toBe('{"__proto__":{"polluted":1},"constructor":{"prototype":3},"meta":{"topic":"t"}}');
    expect(JSON.stringify(projection.project({ b: 1, meta: { topic: 't' } }))).toBe('{"meta":{"topic":"t"}}');
  });

  it('filters see only keys the event holds, not inherited ones', () => {
    expect(compiled('constructor', schemaless).matches({ a: 1 })).toBe(false);
    expect(compiled('!toString', schemaless).matches({ a: 1 })).toBe(true);
    expect(compiled('__proto__.x=1', schemaless).matches(parsed('{"__proto__":{"x":1}}'))).toBe(true);
    expect(compiled('__proto__.x=1', schemaless).matches({ x: 1 })).toBe(false);
  });
});
