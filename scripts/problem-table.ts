/** Rewrites the table of problem types in docs/api.md from src/http/problems.ts. */
import { readFileSync, writeFileSync } from 'node:fs';
import { withProblemTable } from './lib/problem-table.ts';

const page = new URL('../docs/api.md', import.meta.url);
writeFileSync(page, withProblemTable(readFileSync(page, 'utf8')));
console.log('docs/api.md: table of problem types updated');
