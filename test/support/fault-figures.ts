/**
 * Figures of the fault tests, from their real runs, into bench/results/faults.json and .md. Each
 * scenario replaces its own entry, so running one test file keeps the others' latest figures.
 * The fault tests run one file at a time (vitest.faults.config.ts), so writes never interleave.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const JSON_FILE = `${DIR}faults.json`;
const MD_FILE = `${DIR}faults.md`;

export type Figure = number | string | boolean;

interface Scenario {
  title: string;
  at: string;
  node: string;
  cores: number;
  commit: string;
  figures: Record<string, Figure>;
}

export function recordFigures(id: string, title: string, figures: Record<string, Figure>): void {
  mkdirSync(DIR, { recursive: true });
  const all: Record<string, Scenario> = existsSync(JSON_FILE) ? (JSON.parse(readFileSync(JSON_FILE, 'utf8')) as { scenarios: Record<string, Scenario> }).scenarios : {};
  all[id] = { title, at: new Date().toISOString(), node: process.version, cores: cpus().length, commit: commit(), figures };
  const sorted = Object.fromEntries(Object.entries(all).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(JSON_FILE, `${JSON.stringify({ command: 'npm run test:faults', scenarios: sorted }, null, 2)}\n`);
  writeFileSync(MD_FILE, markdown(sorted));
}

function markdown(scenarios: Record<string, Scenario>): string {
  const parts = [
    '## Fault tests (`npm run test:faults`)\n',
    'Figures written by the tests of `test/faults/` from their latest run: a real local Kafka of their own, the real service, real SSE clients. Each test fails when a client misses, repeats or reorders an event.\n',
  ];
  for (const [id, s] of Object.entries(scenarios)) {
    parts.push(`### ${s.title} (\`${id}\`)\n\n${s.at}, node ${s.node}, ${s.cores} cores, commit ${s.commit}\n\n| figure | value |\n|---|---|`);
    for (const [name, value] of Object.entries(s.figures)) parts.push(`| ${name} | ${typeof value === 'number' ? value.toLocaleString('en-US') : String(value)} |`);
    parts.push('');
  }
  return `${parts.join('\n')}\n`;
}

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}
