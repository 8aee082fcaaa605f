/** Rewrites the performance table in docs/performance.md from bench/results/*.json. */
import { readFileSync, writeFileSync } from 'node:fs';
import { withPerformanceTable } from './lib/performance-table.ts';

const page = new URL('../docs/performance.md', import.meta.url);
writeFileSync(page, withPerformanceTable(readFileSync(page, 'utf8')));
console.log('docs/performance.md: performance table updated from bench/results');
