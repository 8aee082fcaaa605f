import { describe, expect, it } from 'vitest';
import { histogramQuantile, parseMetrics } from '../../bench/lib/service.ts';

const scrape = (counts: [string, number][]) => parseMetrics(counts.map(([le, n]) => `x_seconds_bucket{le="${le}"} ${n}`).join('\n'));

describe('histogramQuantile', () => {
  it('estimates a quantile of what was observed between two scrapes, within its bucket', () => {
    const before = scrape([['0.01', 10], ['0.1', 10], ['1', 10], ['+Inf', 10]]);
    // Since then: 50 observations up to 10 ms, 40 in (10, 100] ms, 10 in (100 ms, 1 s].
    const after = scrape([['0.01', 60], ['0.1', 100], ['1', 110], ['+Inf', 110]]);
    expect(histogramQuantile(before, after, 'x_seconds', 0.5)).toBeCloseTo(0.01);
    expect(histogramQuantile(before, after, 'x_seconds', 0.7)).toBeCloseTo(0.01 + 0.09 * (20 / 40));
    expect(histogramQuantile(before, after, 'x_seconds', 0.99)).toBeCloseTo(0.1 + 0.9 * (9 / 10));
    expect(histogramQuantile(before, before, 'x_seconds', 0.5)).toBeNull();
    expect(histogramQuantile(null, after, 'x_seconds', 0.5)).toBeNull();
  });

  it('answers the largest finite bound for a quantile in the +Inf bucket', () => {
    const after = scrape([['0.01', 1], ['1', 1], ['+Inf', 5]]);
    expect(histogramQuantile(scrape([]), after, 'x_seconds', 0.99)).toBe(1);
  });
});
