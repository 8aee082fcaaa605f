/**
 * The process's filter budget: the costs (see cost.ts) of the distinct filters of open streams add
 * up to the filter work done per event, and to the memory filters hold. A filter shared by many
 * connections is evaluated once per event, so it counts once.
 */

/** Share of the budget only ordinary filters may take, so a few costly ones cannot lock out the rest. */
const RESERVED_SHARE = 0.25;
/**
 * An ordinary filter costs at most this share of the budget: 250 of the default 100,000, a few
 * clauses with dozens of `*` patterns or hundreds of exact values (a projection is never ordinary).
 */
const ORDINARY_SHARE = 1 / 400;

/** Whether a new distinct filter costing `cost` fits while `spent` of `limit` is in use. */
export function admits(spent: number, cost: number, limit: number): boolean {
  if (cost === 0) return true;
  const ceiling = cost <= limit * ORDINARY_SHARE ? limit : limit * (1 - RESERVED_SHARE);
  return spent + cost <= ceiling;
}

/** Why a new distinct filter is refused for now (503): what is spent, and what to do. */
export function budgetProblem(cost: number, spent: number, limit: number): string {
  const n = (value: number): string => value.toLocaleString('en-US');
  return `This server's filters are at their cost limit (${n(spent)} of ${n(limit)} in use; this filter costs ${n(cost)}): retry shortly, or use a cheaper filter (fewer \`*\` patterns, date-time comparisons or \`fields\` paths)`;
}
