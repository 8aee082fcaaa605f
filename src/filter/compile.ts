import type { Literal, TypedClause } from './check.ts';
import { globMatch } from './glob.ts';
import { someValue } from './path.ts';

/**
 * An equality clause every match must satisfy, for indexing subscribers by value: a client is
 * offered only events whose value at `path` has one of `keys` (see `indexKey`).
 */
export interface IndexHint {
  path: string;
  segments: readonly string[];
  keys: ReadonlySet<string>;
}

export interface EventFilter {
  /** Canonical text: equal keys, equal filters. */
  readonly key: string;
  readonly index?: IndexHint;
  matches(event: Record<string, unknown>): boolean;
}

type Predicate = (event: Record<string, unknown>) => boolean;

/** The index key of a scalar event value: same key exactly when an equality literal matches it. */
export function indexKey(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return `s${value}`;
    case 'number':
      return `n${value}`;
    case 'boolean':
      return value ? 'bt' : 'bf';
    default:
      return value === null ? 'z' : undefined;
  }
}

/** Compiles checked clauses (ANDed) once per connection; undefined when there are none. */
export function compileFilter(clauses: readonly TypedClause[]): EventFilter | undefined {
  if (clauses.length === 0) return undefined;
  const ordered = [...clauses].sort(compareClauses);
  const predicates = ordered.map(predicate);
  const key = JSON.stringify(ordered.map((c) => [c.path, c.op, c.literals]));
  const index = indexHint(ordered);
  const matches: Predicate = (event) => {
    for (const test of predicates) if (!test(event)) return false;
    return true;
  };
  return index === undefined ? { key, matches } : { key, index, matches };
}

function predicate(clause: TypedClause): Predicate {
  const { segments } = clause;
  switch (clause.op) {
    case 'present':
      return (event) => someValue(event, segments, (v) => v !== null);
    case 'absent':
      return (event) => !someValue(event, segments, (v) => v !== null);
    case 'eq': {
      const test = equalityTest(clause.literals);
      return (event) => someValue(event, segments, test);
    }
    case 'ne': {
      const test = equalityTest(clause.literals);
      return (event) => !someValue(event, segments, test);
    }
    default: {
      const test = orderTest(clause.op, clause.literals[0] ?? {});
      return (event) => someValue(event, segments, test);
    }
  }
}

function equalityTest(literals: readonly Literal[]): (value: unknown) => boolean {
  const texts = new Set<string>();
  const numbers = new Set<number>();
  const globs: (readonly string[])[] = [];
  let whenTrue = false;
  let whenFalse = false;
  let whenNull = false;
  for (const literal of literals) {
    if (literal.text !== undefined) texts.add(literal.text);
    if (literal.glob !== undefined) globs.push(literal.glob);
    if (literal.num !== undefined) numbers.add(literal.num);
    if (literal.bool === true) whenTrue = true;
    if (literal.bool === false) whenFalse = true;
    if (literal.null === true) whenNull = true;
  }
  return (value) => {
    switch (typeof value) {
      case 'string':
        if (texts.has(value)) return true;
        for (const glob of globs) if (globMatch(value, glob)) return true;
        return false;
      case 'number':
        return numbers.has(value);
      case 'boolean':
        return value ? whenTrue : whenFalse;
      default:
        return value === null && whenNull;
    }
  };
}

function orderTest(op: TypedClause['op'], literal: Literal): (value: unknown) => boolean {
  const holds = (a: number, b: number): boolean => (op === 'lt' ? a < b : op === 'le' ? a <= b : op === 'gt' ? a > b : a >= b);
  const { num, time } = literal;
  return (value) => {
    if (typeof value === 'number') return num !== undefined && holds(value, num);
    if (typeof value === 'string' && time !== undefined) {
      const t = Date.parse(value);
      return !Number.isNaN(t) && holds(t, time);
    }
    return false;
  };
}

/**
 * How many distinct values a literal's field likely has: text (wiki, title, type) splits events
 * finely, numbers less, booleans and null barely. Lower is more selective.
 */
function selectivityRank(literal: Literal): number {
  return literal.text !== undefined ? 0 : literal.num !== undefined ? 1 : 2;
}

/**
 * The most selective exact equality clause (no globs): fewest accepted values, then text before
 * numbers before booleans. Its keys are exactly the values it accepts.
 */
function indexHint(clauses: readonly TypedClause[]): IndexHint | undefined {
  let best: { hint: IndexHint; rank: number } | undefined;
  for (const clause of clauses) {
    if (clause.op !== 'eq' || clause.literals.some((l) => l.glob !== undefined)) continue;
    const keys = new Set<string>();
    for (const literal of clause.literals) {
      if (literal.text !== undefined) keys.add(`s${literal.text}`);
      if (literal.num !== undefined) keys.add(`n${literal.num}`);
      if (literal.bool !== undefined) keys.add(literal.bool ? 'bt' : 'bf');
      if (literal.null === true) keys.add('z');
    }
    const rank = Math.max(...clause.literals.map(selectivityRank));
    if (best === undefined || keys.size < best.hint.keys.size || (keys.size === best.hint.keys.size && rank < best.rank)) {
      best = { hint: { path: clause.path, segments: clause.segments, keys }, rank };
    }
  }
  return best?.hint;
}

/** Clause order does not change the meaning; a fixed order lets equal filters share one key. */
function compareClauses(a: TypedClause, b: TypedClause): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : a.op < b.op ? -1 : a.op > b.op ? 1 : 0;
}
