import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StartPosition } from '../../src/protocol/position.ts';
import { PositionIds, PositionStates } from '../../src/stream/position-ids.ts';

const STARTS: StartPosition[] = [
  { topic: 'eqiad.rc', partition: 0, offset: 10, requested: { since: 5 } },
  { topic: 'codfw.rc', partition: 0, offset: 3, requested: { topic: 'codfw.rc', partition: 0, offset: 3 } },
  { topic: 'eqiad.rc', partition: 1, offset: 0 },
];

type Step =
  | { kind: 'advance'; slot: number; gap: number; timestamp: number; consumed: number; run: number; shared: boolean }
  | { kind: 'read' }
  | { kind: 'reset'; slot: number; offset: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('advance' as const),
    slot: fc.integer({ min: 0, max: STARTS.length - 1 }),
    gap: fc.integer({ min: 1, max: 3 }),
    // Few distinct timestamps, so runs of equal ones (ts_seen) are common.
    timestamp: fc.integer({ min: 1000, max: 1003 }),
    consumed: fc.integer({ min: 1, max: 3 }),
    run: fc.integer({ min: 1, max: 4 }),
    shared: fc.boolean(),
  }),
  fc.constant({ kind: 'read' as const }),
  fc.record({ kind: fc.constant('reset' as const), slot: fc.integer({ min: 0, max: STARTS.length - 1 }), offset: fc.integer({ min: 0, max: 50 }) }),
);

/** Applies the steps, returning the id text at every read and at the end. */
function ids(target: PositionIds, steps: readonly Step[]): string[] {
  const offsets = STARTS.map((s) => s.offset - 1);
  const seen: string[] = [];
  for (const s of steps) {
    if (s.kind === 'read') seen.push(target.toString());
    else if (s.kind === 'reset') {
      offsets[s.slot] = s.offset - 1;
      target.reset({ ...STARTS[s.slot]!, offset: s.offset, requested: undefined });
    } else {
      offsets[s.slot]! += s.gap;
      target.advance(s.slot, offsets[s.slot]!, s.timestamp, s.consumed, s.run, s.shared);
    }
  }
  seen.push(target.toString());
  return seen;
}

describe('PositionIds', () => {
  it('says the same ids whether the connection is alone in its group (drafts), shares it (memoised, interned states) or has none', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const lone = new PositionStates();
        const alone = new PositionIds(STARTS, lone.root('g', STARTS));
        const shared = new PositionStates();
        shared.root('g', STARTS);
        const inGroup = new PositionIds(STARTS, shared.root('g', STARTS));
        const expected = ids(new PositionIds(STARTS), steps);
        expect(ids(alone, steps)).toEqual(expected);
        expect(ids(inGroup, steps)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('moves from drafts to shared states when a second connection joins its group, and back when it leaves', () => {
    const states = new PositionStates();
    const first = new PositionIds(STARTS, states.root('g', STARTS));
    first.advance(0, 10, 1000);
    first.advance(0, 11, 1000);
    const alone = first.state;
    // Read twice, made once.
    expect(first.state).toBe(alone);
    const second = new PositionIds(STARTS, states.root('g', STARTS));
    second.advance(0, 11, 1000, 2, 2);
    expect(second.toString()).toBe(first.toString());
    first.advance(0, 12, 1001);
    second.advance(0, 12, 1001);
    // In step now: one state for both.
    expect(second.state).toBe(first.state);
    second.leave();
    const before = states.size.states;
    first.advance(0, 13, 1001);
    expect(first.toString()).toContain('"timestamp":1002,"ts_seen":2');
    expect(states.size.states).toBe(before);
  });
});
