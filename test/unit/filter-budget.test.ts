import { describe, expect, it } from 'vitest';
import { admits, budgetProblem } from '../../src/filter/budget.ts';
import type { Sanitizer } from '../../src/sanitize/sanitizer.ts';
import { EventSelection } from '../../src/selection/event-selection.ts';
import { LiveSelections, type SelectionLease } from '../../src/selection/live-selections.ts';
import type { SelectionCandidate } from '../../src/selection/selections.ts';

/** Selections are only handed out here, never asked for frames: no sanitizer is needed. */
const noSanitizer = {} as Sanitizer;

function candidate(key: string, cost: number, created: string[] = []): SelectionCandidate {
  return {
    key,
    cost,
    create: () => {
      created.push(key);
      return new EventSelection(key, noSanitizer, new Set());
    },
  };
}

function lease(live: LiveSelections, c: SelectionCandidate): SelectionLease {
  const acquired = live.acquire(c);
  if (!acquired.ok) throw new Error(`${c.key} refused`);
  return acquired.lease;
}

describe('admits', () => {
  const limit = 100_000;
  it('admits a filter while it fits, costly ones only into the first three quarters', () => {
    expect(admits(0, 2000, limit)).toBe(true);
    expect(admits(73_000, 2000, limit)).toBe(true);
    expect(admits(73_001, 2000, limit)).toBe(false);
    // Ordinary filters (1/400 of the budget or less) may take the reserve.
    expect(admits(73_001, 250, limit)).toBe(true);
    expect(admits(99_750, 250, limit)).toBe(true);
    expect(admits(99_751, 250, limit)).toBe(false);
    expect(admits(74_800, 250, limit)).toBe(true);
    expect(admits(74_800, 251, limit)).toBe(false);
  });

  it('always admits what costs nothing (no filter, no projection)', () => {
    expect(admits(limit * 2, 0, limit)).toBe(true);
  });

  it('explains a refusal with the figures', () => {
    expect(budgetProblem(2000, 74_500, limit)).toMatch(/^This server's filters are at their cost limit \(74,500 of 100,000 in use; this filter costs 2,000\): retry shortly/);
  });
});

describe('LiveSelections', () => {
  it('shares one selection per key, built once and counted once, until its last lease is released', () => {
    const created: string[] = [];
    const changes: [number, number][] = [];
    const live = new LiveSelections(10_000, { changed: (n, spent) => changes.push([n, spent]) });
    const a1 = lease(live, candidate('a', 5, created));
    const a2 = lease(live, candidate('a', 5, created));
    const b = lease(live, candidate('b', 7, created));
    expect(a1.selection).toBe(a2.selection);
    expect(created).toEqual(['a', 'b']);
    expect([live.size, live.spent]).toEqual([2, 12]);
    a1.release();
    a1.release();
    expect([live.size, live.spent]).toEqual([2, 12]);
    a2.release();
    b.release();
    expect([live.size, live.spent]).toEqual([0, 0]);
    expect(changes.at(-1)).toEqual([0, 0]);
    // Nothing is kept: the key builds a new selection next time.
    expect(lease(live, candidate('a', 5, created)).selection).not.toBe(a1.selection);
  });

  it('refuses a new costly filter when the budget is spent, but not one already live, an ordinary one or none', () => {
    const live = new LiveSelections(10_000);
    const costly = [1, 2, 3].map((i) => lease(live, candidate(`costly${i}`, 2400)));
    expect(live.spent).toBe(7200);
    const refused = live.acquire(candidate('costly4', 2400));
    expect(refused).toEqual({ ok: false, cost: 2400, spent: 7200, limit: 10_000 });
    expect(live.size).toBe(3);
    expect(live.acquire(candidate('costly1', 2400)).ok).toBe(true);
    expect(live.acquire(candidate('ordinary', 10)).ok).toBe(true);
    expect(live.acquire(candidate('unfiltered', 0)).ok).toBe(true);
    costly[0]?.release();
    // costly1 is still held by the lease taken above; costly2 frees its share.
    expect(live.acquire(candidate('costly4', 2400)).ok).toBe(false);
    costly[1]?.release();
    expect(live.acquire(candidate('costly4', 2400)).ok).toBe(true);
  });
});
