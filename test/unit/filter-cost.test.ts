import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkQuery, type FieldScope } from '../../src/filter/check.ts';
import { costProblem, filterCost, type FilterCost } from '../../src/filter/cost.ts';
import { parseFilterQuery } from '../../src/filter/parse.ts';
import { schemaFields } from '../../src/filter/schema-fields.ts';

const schema = JSON.parse(readFileSync(new URL('../../config/schemas/mediawiki/recentchange/1.0.1.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const recentchange: FieldScope = { schemas: [schemaFields(schema)], schemaless: false };
/** The default `filters.max_cost` (src/config/schema.ts). */
const MAX_COST = 2000;

function cost(query: string): FilterCost {
  const parsed = parseFilterQuery(query);
  if (!parsed.ok) throw new Error(parsed.error);
  const checked = checkQuery(parsed.query, recentchange);
  if (!checked.ok) throw new Error(checked.problem.message);
  return filterCost(checked.clauses, checked.fields);
}
const total = (query: string): number => cost(query).total;
const list = (n: number, value: (i: number) => string): string => Array.from({ length: n }, (_, i) => value(i)).join(',');
/** `n` values over as many clauses on `path` as the per-clause limit needs. */
const clauses = (path: string, n: number, value: (i: number) => string): string =>
  Array.from({ length: Math.ceil(n / 1000) }, (_, c) => `${path}=${list(Math.min(1000, n - c * 1000), (i) => value(c * 1000 + i))}`).join('&');

describe('filterCost', () => {
  it('is 0 without a filter or projection: the event is sent as read', () => {
    expect(cost('')).toEqual({ total: 0, parts: [] });
    expect(total('since=2026-01-01')).toBe(0);
  });

  it('keeps ordinary filters cheap: far below the limit, and within the reserve for ordinary ones (250 by default)', () => {
    for (const query of ['wiki=enwiki', 'wiki=enwiki&title=Talk:*', 'bot!=true&namespace<100&length.new>=1000', `type=edit,new&wiki=dewiki,frwiki&title=${list(20, (i) => `User:Bot${i}/*`)}`]) {
      expect(total(query), query).toBeLessThanOrEqual(250);
    }
    expect(total('wiki=enwiki&title=Talk:*')).toBeLessThan(20);
    // A projection re-encodes every event it sends: never ordinary, but a short one is far within the limit.
    expect(total('wiki=enwiki&fields=title,user,meta.dt')).toBeGreaterThan(250);
    expect(total('wiki=enwiki&fields=title,user,meta.dt')).toBeLessThan(MAX_COST / 2);
  });

  it('charges exact values their memory only: a thousand cost less than a tenth of as many patterns', () => {
    const values = total(clauses('title', 1000, (i) => `Page ${i}`));
    const patterns = total(clauses('title', 1000, (i) => `Page ${i}*`));
    expect(values).toBeLessThan(patterns / 4);
    // One exact value or ten: the same work per event, a few bytes more.
    expect(total('wiki=a,b,c,d,e,f,g,h,i,j') - total('wiki=a')).toBeLessThanOrEqual(3);
  });

  it('grows with the number of patterns, their pieces and their length', () => {
    expect(total('title=a*,b*')).toBeGreaterThan(total('title=a*'));
    expect(total('title=*a*b*c*d*')).toBeGreaterThan(total('title=*abcd*'));
    expect(total(`title=*${'x'.repeat(600)}*`)).toBeGreaterThan(total('title=*x*'));
    expect(total(clauses('title', 400, (i) => `P${i}*`))).toBeGreaterThan(total(clauses('title', 100, (i) => `P${i}*`)) * 3);
  });

  it('charges date-time comparisons (the event value is parsed per event), clauses, path depth and fields', () => {
    expect(total('meta.dt>=2026-01-01T00:00:00Z') - total('length.new>=5')).toBeGreaterThanOrEqual(30);
    expect(total('wiki=a&type=edit')).toBeGreaterThan(total('wiki=a'));
    expect(total('length.new=5')).toBeGreaterThan(total('namespace=5'));
    expect(total('fields=title,user')).toBeGreaterThan(total('fields=title'));
    expect(total('fields=title')).toBeGreaterThan(total('title=x'));
  });

  it('refuses the filters of the report: 4,000 `*` in 8 KB, 3,600 prefixes', () => {
    expect(total(clauses('title', 4000, () => '*'))).toBeGreaterThan(MAX_COST * 5);
    expect(total(clauses('title', 3600, (i) => `Talk:${i}*`))).toBeGreaterThan(MAX_COST * 5);
  });

  it('admits what the limits are meant to admit: 400 short patterns, 1,000 exact titles, 30 date-time comparisons, 20 fields', () => {
    expect(total(clauses('title', 400, (i) => `User talk:${i}*`))).toBeLessThanOrEqual(MAX_COST);
    expect(total(clauses('title', 1000, (i) => `Some page title ${i}`))).toBeLessThanOrEqual(MAX_COST);
    expect(total(Array.from({ length: 30 }, (_, i) => `meta.dt>=2026-01-${String(i + 1).padStart(2, '0')}`).join('&'))).toBeLessThanOrEqual(MAX_COST);
    expect(total(`fields=${list(20, (i) => `log_params.f${i}`)}`)).toBeLessThanOrEqual(MAX_COST);
  });

  it('says where the cost comes from, largest first', () => {
    const { parts } = cost(`title=${list(100, (i) => `*${i}*`)}&wiki=${list(50, (i) => `w${i}`)}&fields=title`);
    expect(parts.map((p) => p.source)).toEqual(['patterns', 'fields', 'values', 'clauses']);
    expect(parts.find((p) => p.source === 'patterns')?.count).toBe(100);
    expect(parts.find((p) => p.source === 'values')?.count).toBe(50);
    expect(parts.reduce((sum, p) => sum + p.cost, 0)).toBeLessThan(cost(`title=${list(100, (i) => `*${i}*`)}&wiki=${list(50, (i) => `w${i}`)}&fields=title`).total);
  });
});

describe('costProblem', () => {
  it('says nothing for a filter within the limit', () => {
    expect(costProblem(cost('wiki=enwiki'), MAX_COST)).toBeUndefined();
  });

  it('names the cost, the limit, what it is made of and what to reduce', () => {
    const message = costProblem(cost(clauses('title', 1000, (i) => `*a*${i}*`)), MAX_COST) ?? '';
    expect(message).toMatch(/^This filter costs [\d,]+, over the limit of 2,000 per request \(1,000 `\*` patterns [\d,]+, 1 clauses \d+\): use fewer `\*` patterns/);
    expect(costProblem(cost(`fields=${list(100, (i) => `log_params.f${i}`)}`), MAX_COST)).toMatch(/100 `fields` paths [\d,]+.*: use fewer `fields` paths$/);
  });
});
