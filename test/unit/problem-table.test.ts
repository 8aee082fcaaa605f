import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROBLEM_TABLE, problemTable, withProblemTable } from '../../scripts/lib/problem-table.ts';
import { problemCases } from '../../src/http/problems.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README table of problem types', () => {
  it('is what the catalogue generates (run `node scripts/problem-table.ts` after changing src/http/problems.ts)', () => {
    expect(readme.indexOf(PROBLEM_TABLE.start)).toBeGreaterThan(0);
    expect(withProblemTable(readme)).toBe(readme);
  });

  it('has a row per type and status', () => {
    const table = problemTable();
    for (const { type, status } of problemCases()) expect(table).toContain(`| ${status} | \`${type}\` |`);
  });

  it('stays inside the list item it is indented in', () => {
    const block = readme.slice(readme.indexOf(PROBLEM_TABLE.start), readme.indexOf(PROBLEM_TABLE.end) + PROBLEM_TABLE.end.length);
    for (const line of block.split('\n').slice(1)) if (line !== '') expect(line).toMatch(/^ {2}\S/);
  });
});
