import type { TypedClause } from './check.ts';

/**
 * What a filter costs the process. Each distinct filter is evaluated once per event of its streams
 * (however many clients share it), so its cost is its worst-case work per event, plus the memory it
 * holds while it is live. One unit is about 10 ns of evaluation, or 256 bytes of heap
 * (bench/results/filter-cost.md: 3-7 ns per unit for the costliest kinds in isolation, 13-17 with
 * the costliest filters the budget admits in the running service).
 *
 * Worst case means: every clause is evaluated (AND stops at the first failing one, and the
 * subscriber index may not offer the event at all, but a client chooses its events) and every
 * `*` pattern is tested. Exact values are one set lookup per event whatever their number: they cost
 * only their memory.
 */
export interface FilterCost {
  total: number;
  /** Where the cost comes from, largest first: what a client should reduce. */
  parts: CostPart[];
}

export type CostSource = 'patterns' | 'values' | 'date comparisons' | 'clauses' | 'fields';

export interface CostPart {
  source: CostSource;
  count: number;
  cost: number;
}

/** Weights, in units (~10 ns per event each; see above). */
export const COST_WEIGHTS = {
  /** Asking a shared selection for an event's frame: memo check, parsed-event lookup. */
  selection: 5,
  /** Walking a clause's path in the event, per clause, plus one per path segment. */
  clause: 2,
  /** `Date.parse` of the event's value for every event: a date-time comparison. */
  dateComparison: 40,
  /** A `*` pattern: the call, plus one per piece after the first and per 32 literal characters. */
  pattern: 2,
  patternCharsPerUnit: 32,
  /** A projection: copying the picked fields and encoding a new frame, plus per path (a path may pick a large subtree). */
  projection: 400,
  projectionPath: 70,
  /** Bytes of heap per unit, and the bytes a compiled value holds besides its text (4 bytes per character: literal, set, key, index). */
  bytesPerUnit: 256,
  valueBytes: 64,
  patternBytes: 192,
  bytesPerChar: 4,
} as const;

const W = COST_WEIGHTS;

/** The cost of a checked filter and projection; 0 when there are neither (the event is sent as read). */
export function filterCost(clauses: readonly TypedClause[], fields: readonly (readonly string[])[] | undefined): FilterCost {
  const work = { patterns: 0, dates: 0, clauses: 0, fields: 0 };
  const bytes = { patterns: 0, values: 0 };
  const counts = { patterns: 0, values: 0, dates: 0, clauses: clauses.length, fields: fields?.length ?? 0 };
  for (const clause of clauses) {
    work.clauses += W.clause + clause.segments.length;
    for (const literal of clause.literals) {
      if (literal.glob !== undefined) {
        const chars = literal.glob.reduce((sum, piece) => sum + piece.length, 0);
        counts.patterns++;
        work.patterns += W.pattern + (literal.glob.length - 1) + Math.floor(chars / W.patternCharsPerUnit);
        bytes.patterns += W.patternBytes + W.bytesPerChar * chars;
      } else if (literal.time !== undefined) {
        counts.dates++;
        work.dates += W.dateComparison;
      } else if (clause.op === 'eq' || clause.op === 'ne') {
        counts.values++;
        bytes.values += W.valueBytes + W.bytesPerChar * (literal.text?.length ?? 0);
      }
    }
  }
  if (fields !== undefined) work.fields = W.projection + W.projectionPath * fields.length;
  const units = (b: number): number => Math.ceil(b / W.bytesPerUnit);
  const parts: CostPart[] = [
    { source: 'patterns', count: counts.patterns, cost: work.patterns + units(bytes.patterns) },
    { source: 'values', count: counts.values, cost: units(bytes.values) },
    { source: 'date comparisons', count: counts.dates, cost: work.dates },
    { source: 'clauses', count: counts.clauses, cost: work.clauses },
    { source: 'fields', count: counts.fields, cost: work.fields },
  ].filter((part): part is CostPart => part.cost > 0);
  parts.sort((a, b) => b.cost - a.cost);
  const sum = parts.reduce((total, part) => total + part.cost, 0);
  return { total: sum === 0 ? 0 : sum + W.selection, parts };
}

const ADVICE: Record<CostSource, string> = {
  patterns: 'fewer `*` patterns, or fewer `*` in each (exact values cost almost nothing per event)',
  values: 'fewer values',
  'date comparisons': 'fewer date-time comparisons',
  clauses: 'fewer clauses',
  fields: 'fewer `fields` paths',
};

const DESCRIBE: Record<CostSource, string> = {
  patterns: '`*` patterns',
  values: 'exact values',
  'date comparisons': 'date-time comparisons',
  clauses: 'clauses',
  fields: '`fields` paths',
};

const n = (value: number): string => value.toLocaleString('en-US');

/** Why a filter is refused when it costs more than `limit`, naming what to reduce; undefined when it fits. */
export function costProblem(cost: FilterCost, limit: number): string | undefined {
  if (cost.total <= limit) return undefined;
  const parts = cost.parts.map((p) => `${n(p.count)} ${DESCRIBE[p.source]} ${n(p.cost)}`).join(', ');
  return `This filter costs ${n(cost.total)}, over the limit of ${n(limit)} per request (${parts}): use ${ADVICE[cost.parts[0]?.source ?? 'clauses']}`;
}
