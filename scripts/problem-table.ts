/** Rewrites the table of problem types in README.md from src/http/problems.ts. */
import { readFileSync, writeFileSync } from 'node:fs';
import { withProblemTable } from './lib/problem-table.ts';

const readmeFile = new URL('../README.md', import.meta.url);
writeFileSync(readmeFile, withProblemTable(readFileSync(readmeFile, 'utf8')));
console.log('README.md: table of problem types updated');
