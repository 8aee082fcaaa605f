import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROBLEM_TABLE, problemTable, withProblemTable } from '../../scripts/lib/problem-table.ts';
import { problemCases } from '../../src/http/problems.ts';

const page = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');

describe('table of problem types (docs/api.md)', () => {
  it('is what the catalogue generates (run `node scripts/problem-table.ts` after changing src/http/problems.ts)', () => {
    expect(page.indexOf(PROBLEM_TABLE.start)).toBeGreaterThan(0);
    expect(withProblemTable(page)).toBe(page);
  });

  it('has a row per type and status', () => {
    const table = problemTable();
    for (const { type, status } of problemCases()) expect(table).toContain(`| ${status} | \`${type}\` |`);
  });

  it('keeps the indent of its start marker, so it can sit inside a list item', () => {
    const indented = withProblemTable(`- errors:\n\n  ${PROBLEM_TABLE.start}\n  ${PROBLEM_TABLE.end}\n`);
    const block = indented.slice(indented.indexOf(PROBLEM_TABLE.start), indented.indexOf(PROBLEM_TABLE.end) + PROBLEM_TABLE.end.length);
    for (const line of block.split('\n').slice(1)) if (line !== '') expect(line).toMatch(/^ {2}\S/);
  });
});
