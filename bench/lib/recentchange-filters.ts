/**
 * Filters on the recentchange stream built through the service's own code path (parse, check
 * against the stream's schema, compile), for benchmarks that need to know what a filter matches.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StreamConfig } from '../../src/catalogue/types.ts';
import { checkQuery, type FieldScope } from '../../src/filter/check.ts';
import { compileFilter, type EventFilter } from '../../src/filter/compile.ts';
import { filterCost } from '../../src/filter/cost.ts';
import { parseFilterQuery } from '../../src/filter/parse.ts';
import { schemaFields } from '../../src/filter/schema-fields.ts';
import { repoRoot } from '../../scripts/lib/repo-root.ts';

export const SCHEMA_BASE = join(repoRoot, 'config', 'schemas');

export const RECENTCHANGE_STREAM: StreamConfig = {
  name: 'mediawiki.recentchange',
  aliases: ['recentchange'],
  topics: ['eqiad.mediawiki.recentchange'],
  schemaTitle: 'mediawiki/recentchange',
  dropCanaryEvents: true,
};

/** The fields a recentchange filter may name (schema 1.0.1, the latest). */
export function recentchangeScope(): FieldScope {
  const schema = JSON.parse(readFileSync(join(SCHEMA_BASE, 'mediawiki', 'recentchange', '1.0.1.json'), 'utf8')) as Record<string, unknown>;
  return { schemas: [schemaFields(schema)], schemaless: false };
}

/** The cost the service gives a query's filter and projection (filters.max_cost, max_total_cost); throws on a query it refuses. */
export function queryCost(query: string, scope: FieldScope = recentchangeScope()): number {
  const parsed = parseFilterQuery(query);
  if (!parsed.ok) throw new Error(`${query}: ${parsed.error}`);
  const checked = checkQuery(parsed.query, scope);
  if (!checked.ok) throw new Error(`${query}: ${checked.problem.message}`);
  return filterCost(checked.clauses, checked.fields).total;
}

/** The compiled filter of a query string; throws when the service would refuse it. */
export function compileQuery(query: string, scope: FieldScope): EventFilter {
  const parsed = parseFilterQuery(query);
  if (!parsed.ok) throw new Error(`${query}: ${parsed.error}`);
  const checked = checkQuery(parsed.query, scope);
  if (!checked.ok) throw new Error(`${query}: ${checked.problem.message}`);
  const filter = compileFilter(checked.clauses);
  if (filter === undefined) throw new Error(`${query}: no filter clauses`);
  return filter;
}

/** For each query, the indexes of the events it matches (checked as a stream with `scope` would). */
export function matchTable(queries: readonly string[], events: readonly Record<string, unknown>[], scope: FieldScope = recentchangeScope()): number[][] {
  return queries.map((query) => {
    const filter = compileQuery(query, scope);
    return events.flatMap((event, i) => (filter.matches(event) ? [i] : []));
  });
}
