import { describe, expect, it } from 'vitest';
import { CatchUpPacer } from '../../src/fanout/catch-up-pacer.ts';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Readers each working `slices` slices of `ms` (on a fake clock); returns per turn of the event loop which slices ran. */
async function run(budgetMs: number | (() => number), readers: { slices: number; ms: number }[]): Promise<string[][]> {
  let clock = 0;
  const pacer = new CatchUpPacer(budgetMs, { now: () => clock });
  const turns: string[][] = [[]];
  let turnsRunning = true;
  void (async () => {
    while (turnsRunning) {
      await nextTurn();
      turns.push([]);
    }
  })();
  await Promise.all(
    readers.map(async ({ slices, ms }, r) => {
      for (let s = 0; s < slices; s++) {
        await pacer.turn();
        turns.at(-1)!.push(`${r}.${s}`);
        clock += ms;
        pacer.done();
      }
    }),
  );
  turnsRunning = false;
  return turns.filter((t) => t.length > 0);
}

describe('CatchUpPacer', () => {
  it('asks its budget at the start of each turn (replays yield sooner while live clients wait)', async () => {
    let asked = 0;
    // Turns 1 and 2 (the first asked by the constructor): 10 ms, three slices of 4; then 4 ms, one slice.
    const turns = await run(() => (++asked <= 2 ? 10 : 4), [{ slices: 8, ms: 4 }]);
    expect(turns.map((t) => t.length)).toEqual([3, 3, 1, 1]);
  });

  it('lets all readers together work about its budget per turn of the event loop, in the order they asked', async () => {
    const turns = await run(10, [
      { slices: 3, ms: 4 },
      { slices: 3, ms: 4 },
    ]);
    // 4 + 4 < 10: a third slice goes; after it the turn is over.
    expect(turns.every((t) => t.length <= 3)).toBe(true);
    expect(turns.flat().sort()).toEqual(['0.0', '0.1', '0.2', '1.0', '1.1', '1.2']);
    expect(turns.length).toBeGreaterThanOrEqual(2);
    expect(turns[0]).toEqual(['0.0', '1.0', '0.1']);
  });

  it('always lets one slice through per turn, however long', async () => {
    expect(await run(1, [{ slices: 4, ms: 50 }])).toEqual([['0.0'], ['0.1'], ['0.2'], ['0.3']]);
  });

  it('goes on with the next reader when one gives its turn up', async () => {
    const pacer = new CatchUpPacer(100);
    await pacer.turn();
    const second = pacer.turn().then(() => 'second');
    pacer.done();
    expect(await second).toBe('second');
    pacer.done();
  });

  it('runs a lone reader within its budget without waiting for a turn', async () => {
    expect(await run(10, [{ slices: 5, ms: 1 }])).toEqual([['0.0', '0.1', '0.2', '0.3', '0.4']]);
  });

  it('waits while live writes are pending, except one turn per starvation interval', async () => {
    let clock = 0;
    let live = true;
    const pacer = new CatchUpPacer(10, { now: () => clock, yieldTo: () => live, starvationMs: 20 });
    const got: number[] = [];
    const reader = (async () => {
      for (let s = 0; s < 4; s++) {
        await pacer.turn();
        got.push(clock);
        clock += 1;
        pacer.done();
      }
    })();
    // The first turn is never starved; then none until 20 ms after it, however many turns pass.
    for (let t = 0; t < 10; t++) await nextTurn();
    expect(got).toEqual([0]);
    clock = 20;
    for (let t = 0; t < 3; t++) await nextTurn();
    expect(got).toEqual([0, 20]);
    // Live writes done: the rest goes in the same turn, within the budget.
    live = false;
    await reader;
    expect(got).toEqual([0, 20, 21, 22]);
  });
});
