import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PERFORMANCE_TABLE, performanceTable, withPerformanceTable } from '../../scripts/lib/performance-table.ts';

const page = readFileSync(new URL('../../docs/performance.md', import.meta.url), 'utf8');

describe('performance table (docs/performance.md)', () => {
  it('is what bench/results generates (run `node scripts/performance-table.ts` after a benchmark)', () => {
    expect(page.indexOf(PERFORMANCE_TABLE.start)).toBeGreaterThan(0);
    expect(withPerformanceTable(page)).toBe(page);
  });

  it('shows the commit of each figure, and no row for a benchmark without results', () => {
    const dir = mkdtempSync(join(tmpdir(), 'perf-table-'));
    writeFileSync(
      join(dir, 'compression.json'),
      JSON.stringify({
        machine: { gitCommit: 'abc1234', gitDirty: false, date: '2026-12-03T10:00:00.000Z' },
        rows: [
          { batch: 1, design: 'shared history (service)', ofIdentity: 0.143, usPerEvent: 118 },
          { batch: 1, design: 'compressor per connection', ofIdentity: 0.143, usPerEvent: 180 },
        ],
      }),
    );
    const table = performanceTable(dir).split('\n');
    expect(table).toHaveLength(3);
    expect(table[2]).toContain('shared history 14 % of identity');
    expect(table[2]).toContain('abc1234, 2026-12-03 ([compression.md](../bench/results/compression.md))');
  });
});
