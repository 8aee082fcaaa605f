import { describe, expect, it } from 'vitest';
import { CatchUpPacer } from '../../src/fanout/catch-up-pacer.ts';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs readers handing out `slices` slices of `bytes` each; returns per turn of the event loop which slices ran. */
async function run(pacer: CatchUpPacer, readers: { slices: number; bytes: number }[]): Promise<string[][]> {
  const turns: string[][] = [[]];
  let turnsRunning = true;
  void (async () => {
    while (turnsRunning) {
      await nextTurn();
      turns.push([]);
    }
  })();
  await Promise.all(
    readers.map(async ({ slices, bytes }, r) => {
      for (let s = 0; s < slices; s++) {
        await pacer.turn();
        turns.at(-1)!.push(`${r}.${s}`);
        pacer.spent(bytes);
      }
    }),
  );
  turnsRunning = false;
  return turns.filter((t) => t.length > 0);
}

describe('CatchUpPacer', () => {
  it('lets all readers together hand out about its budget per turn of the event loop, in the order they asked', async () => {
    const turns = await run(new CatchUpPacer(1000), [
      { slices: 3, bytes: 400 },
      { slices: 3, bytes: 400 },
    ]);
    // 400 + 400 < 1000: a third slice fits; after it the turn is over.
    expect(turns.every((t) => t.length <= 3)).toBe(true);
    expect(turns.flat().sort()).toEqual(['0.0', '0.1', '0.2', '1.0', '1.1', '1.2']);
    expect(turns.length).toBeGreaterThanOrEqual(2);
    expect(turns[0]).toContain('0.0');
    expect(turns[0]).toContain('1.0');
  });

  it('always lets one slice through per turn, however large', async () => {
    const turns = await run(new CatchUpPacer(100), [{ slices: 4, bytes: 5000 }]);
    expect(turns).toEqual([['0.0'], ['0.1'], ['0.2'], ['0.3']]);
  });

  it('goes on with the next reader when one hands out nothing', async () => {
    const pacer = new CatchUpPacer(100);
    await pacer.turn();
    const second = pacer.turn().then(() => 'second');
    pacer.spent(0);
    expect(await second).toBe('second');
    pacer.spent(0);
  });

  it('runs a lone reader within its budget without waiting for a turn', async () => {
    const turns = await run(new CatchUpPacer(1000), [{ slices: 5, bytes: 100 }]);
    expect(turns).toEqual([['0.0', '0.1', '0.2', '0.3', '0.4']]);
  });
});
