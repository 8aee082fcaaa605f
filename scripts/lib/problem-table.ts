/** Renders the table of problem types in docs/api.md from the catalogue, so the two never drift. */
import { cell, docBlock, withBlock } from './doc-block.ts';
import { problemCases, type ProblemCase } from '../../src/http/problems.ts';

export const PROBLEM_TABLE = docBlock('problem-table');

/** What "retry later" means, under the table (the prose after it tells the retry stream in full). */
const RETRY_LATER =
  '*retry later*: with `Retry-After`; to event-stream clients, a 200 event stream with `retry:` advice instead ([below](#retry-do-not-give-up))';

/** One row per type and status, by status (the framework's `4xx`/`5xx` after the others of their class). */
export function problemTable(): string {
  const rows = problemCases()
    .sort((a, b) => order(a) - order(b))
    .map((c) => `| ${c.status} | \`${c.type}\` | ${cell(c.when)}${c.retryLater ? ' (*retry later*)' : ''} |`);
  return ['| status | `type` | when |', '|---|---|---|', ...rows, '', RETRY_LATER].join('\n');
}

export function withProblemTable(page: string): string {
  return withBlock(page, PROBLEM_TABLE, problemTable());
}

function order({ status }: ProblemCase): number {
  return status === '4xx' ? 499.5 : status === '5xx' ? 599.5 : status;
}
