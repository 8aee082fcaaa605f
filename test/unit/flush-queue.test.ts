import { afterEach, describe, expect, it, vi } from 'vitest';
import { SharedChunk } from '../../src/compress/shared-chunk.ts';
import { FlushQueue, SLICE_WRITES, type GroupFlushable } from '../../src/stream/flush-queue.ts';

/** Turns of the event loop run by hand. */
class Turns {
  readonly due: (() => void)[] = [];
  readonly nextTurn = (run: () => void): void => void this.due.push(run);
  /** Runs the next turn. */
  next(): void {
    this.due.shift()!();
  }
}

/** A group of `sockets` sockets that writes a slice at a time, as a cohort does. */
class Group implements GroupFlushable {
  at = 0;
  readonly log: string[];
  readonly sockets: number;
  constructor(log: string[], sockets: number) {
    this.log = log;
    this.sockets = sockets;
  }
  cut(): void {}
  get flushing(): boolean {
    return this.at > 0 && this.at < this.sockets;
  }
  flush(budget: number): number {
    const n = Math.min(budget, this.sockets - this.at);
    this.at += n;
    this.log.push(`group ${n}`);
    if (this.at === this.sockets) this.at = 0;
    return n;
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('FlushQueue', () => {
  it('times each pass from its first slice to the end of its last, however many turns it takes', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const turns = new Turns();
    const passes: number[] = [];
    const queue = new FlushQueue(turns.nextTurn, (seconds) => passes.push(seconds));
    const late = { flush: () => undefined };
    const clients = Array.from({ length: SLICE_WRITES * 2 + 1 }, () => ({ flush: () => undefined }));
    for (const client of clients) queue.mark(client);
    // Each turn takes 3 ms; a client marked during the first pass gets a second pass, which the
    // third turn has room for after the first pass's last client.
    turns.next();
    vi.advanceTimersByTime(3);
    queue.mark(late);
    turns.next();
    vi.advanceTimersByTime(3);
    expect(passes).toEqual([]);
    turns.next();
    expect(passes).toEqual([0.006, 0]);
    expect(turns.due).toHaveLength(0);
  });

  it('flushes a marked target on the next turn, and a target marked during a pass in the next pass', () => {
    const turns = new Turns();
    const queue = new FlushQueue(turns.nextTurn);
    const flushed: string[] = [];
    const again = { flush: () => (flushed.push('again'), queue.mark(other)) };
    const other = { flush: () => flushed.push('other') };
    queue.mark(again);
    expect(turns.due).toHaveLength(1);
    turns.next();
    expect(flushed).toEqual(['again', 'other']);
    expect(turns.due).toHaveLength(1);
    turns.next();
    expect(turns.due).toHaveLength(0);
  });

  it(`writes at most ${SLICE_WRITES} sockets per turn, and finishes a group's pass before the clients of its pass`, () => {
    const turns = new Turns();
    const queue = new FlushQueue(turns.nextTurn);
    const log: string[] = [];
    const clients = Array.from({ length: SLICE_WRITES }, () => ({ flush: () => log.push('client') }));
    for (const client of clients) queue.mark(client);
    queue.markGroup(new Group(log, SLICE_WRITES * 2 + 10));
    const slices: string[][] = [];
    while (turns.due.length > 0) {
      turns.next();
      slices.push(log.splice(0));
    }
    const summary = slices.map((slice) => slice.reduce<Record<string, number>>((counts, entry) => {
      const [kind, n] = entry.split(' ');
      counts[kind!] = (counts[kind!] ?? 0) + Number(n ?? 1);
      return counts;
    }, {}));
    expect(summary).toEqual([
      { group: SLICE_WRITES },
      { group: SLICE_WRITES },
      { group: 10, client: SLICE_WRITES - 10 },
      { client: 10 },
    ]);
  });

  it('moves on from a group that writes nothing, even one that says it is in the middle of a pass', () => {
    const turns = new Turns();
    const queue = new FlushQueue(turns.nextTurn);
    let asked = 0;
    const ended: GroupFlushable = { flushing: true, cut: () => undefined, flush: () => (asked++, 0) };
    const flushed: string[] = [];
    queue.markGroup(ended);
    queue.mark({ flush: () => flushed.push('client') });
    turns.next();
    expect([asked, flushed, turns.due.length]).toEqual([1, ['client'], 0]);
  });

  it('shares a batch with the clients of its pass only', () => {
    const turns = new Turns();
    const queue = new FlushQueue(turns.nextTurn);
    const from = {};
    const to = {};
    const seen: (SharedChunk | undefined)[] = [];
    const writer = { flush: () => queue.share(new SharedChunk(Buffer.from('x'), from, to), 1, 1) };
    const reader = { flush: () => seen.push(queue.shared(from, to, 1, 1)) };
    queue.mark(writer);
    queue.mark(reader);
    turns.next();
    queue.mark(reader);
    turns.next();
    expect(seen.map((chunk) => chunk?.bytes.toString())).toEqual(['x', undefined]);
  });
});
