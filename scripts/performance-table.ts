/** Rewrites the performance table in README.md from bench/results/*.json. */
import { readFileSync, writeFileSync } from 'node:fs';
import { withPerformanceTable } from './lib/performance-table.ts';

const readmeFile = new URL('../README.md', import.meta.url);
writeFileSync(readmeFile, withPerformanceTable(readFileSync(readmeFile, 'utf8')));
console.log('README.md: performance table updated from bench/results');
