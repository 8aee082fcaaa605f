import type { SharedChunk } from '../../src/compress/shared-chunk.ts';
import { PositionStates } from '../../src/stream/position-ids.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { LoadGuard } from '../../src/admission/load-guard.ts';
import type { PreparedEvent } from '../../src/event/prepared-event.ts';
import { ClientQueue, LAGGING_BYTES, WRITE_CHUNK, type ClientQueueOptions, type EvictReason, type Schedule } from '../../src/stream/client-queue.ts';
import { FlushQueue } from '../../src/stream/flush-queue.ts';
import { framingFor } from '../../src/stream/framing.ts';

const event = (offset: number, timestamp = 1000 + offset, size = 0): PreparedEvent => ({
  topic: 't',
  partition: 0,
  offset,
  timestamp,
  canary: false,
  frame: Buffer.from(`data: {"o":${offset}${size > 0 ? `,"pad":"${'x'.repeat(size)}"` : ''}}\n\n`),
});

/** The socket as the queue sees it: bytes not yet sent, and how often a drain was awaited. */
class FakeOutlet {
  buffered = 0;
  get bufferedAtMost(): number {
    return this.buffered;
  }
  drainsAwaited = 0;
  awaitDrain(): void {
    this.drainsAwaited++;
  }
}

/** Timers run by hand. */
class FakeTimers {
  readonly due = new Set<() => void>();
  readonly schedule: Schedule = (_ms, run) => {
    this.due.add(run);
    return () => this.due.delete(run);
  };
  runAll(): void {
    for (const run of [...this.due]) {
      this.due.delete(run);
      run();
    }
  }
}

const guards: LoadGuard[] = [];
afterEach(() => {
  for (const guard of guards.splice(0)) guard.stop();
});

interface Harness {
  queue: ClientQueue;
  outlet: FakeOutlet;
  timers: FakeTimers;
  guard: LoadGuard;
  evicted: EvictReason[];
}

/** Shared by every queue of a test file, as the service shares one. */
const positions = new PositionStates();

function harness(options: Partial<ClientQueueOptions> = {}, guard = new LoadGuard(1e9, 1e9)): Harness {
  guards.push(guard);
  const outlet = new FakeOutlet();
  const timers = new FakeTimers();
  const evicted: EvictReason[] = [];
  const queue = new ClientQueue(
    {
      starts: [{ topic: 't', partition: 0, offset: 0 }],
      framing: framingFor('sse'),
      backlogBytes: 1 << 20,
      stallMs: 1000,
      shareKey: 'rc',
      positions,
      batches: new FlushQueue(),
      guard,
      evict: (reason) => {
        evicted.push(reason);
        queue.close();
      },
      schedule: timers.schedule,
      ...options,
    },
    outlet,
  );
  return { queue, outlet, timers, guard, evicted };
}

/** Queues what `receive` would for each event, and takes the batch. */
function queueAndTake(queue: ClientQueue, events: readonly PreparedEvent[]): string {
  for (const e of events) {
    queue.advance(0, e, 1);
    queue.push(0, e.frame as Buffer);
  }
  return queue.take(() => undefined).bytes.toString();
}

const START_ID = '[{"topic":"t","partition":0,"offset":0}]';
const idAfter = (timestamp: number, seen = 1) => `[{"topic":"t","partition":0,"timestamp":${timestamp + 1},"ts_seen":${seen}}]`;

describe('ClientQueue ids and batches', () => {
  it('starts at its concrete position and moves its id with every event consumed', () => {
    const { queue } = harness();
    expect([queue.id, queue.writtenId]).toEqual([START_ID, START_ID]);
    queue.advance(0, event(0, 1000), 1);
    expect(queue.id).toBe(idAfter(1000));
    queue.advance(0, event(1, 1000), 1);
    expect(queue.id).toBe(idAfter(1000, 2));
    // Consumed is not written: the client still has the id it started with.
    expect(queue.writtenId).toBe(START_ID);
  });

  it('queues each SSE event behind its own id line, and hands everything over as one batch', () => {
    const { queue, guard } = harness();
    const sent: [number, number][] = [];
    for (const e of [event(0), event(1)]) {
      queue.advance(0, e, 1);
      queue.push(0, e.frame as Buffer);
    }
    expect(queue.empty).toBe(false);
    // Events of the current flush, shared with every client in step: not counted against the process.
    expect(guard.queuedBytes).toBe(0);
    const batch = queue.take((slot, events) => sent.push([slot, events])).bytes;
    expect(batch.toString()).toBe(
      `event: message\nid: ${idAfter(1000)}\ndata: {"o":0}\n\n` + `event: message\nid: ${idAfter(1001)}\ndata: {"o":1}\n\n`,
    );
    expect(sent).toEqual([[0, 2]]);
    expect([queue.empty, queue.queuedBytes, guard.queuedBytes, queue.writtenId]).toEqual([true, 0, 0, idAfter(1001)]);
  });

  it('queues NDJSON events as bare lines, and counts what was skipped after them as written', () => {
    const { queue } = harness({ framing: framingFor('ndjson') });
    queue.advance(0, event(0), 1);
    queue.push(0, event(0).frame as Buffer);
    queue.advance(0, event(1), 1);
    expect(queue.take(() => undefined).bytes.toString()).toBe('{"o":0}\n');
    expect(queue.writtenId).toBe(idAfter(1001));
  });

  it('says when a chunk is worth writing at once', () => {
    const { queue } = harness();
    const big = event(0, 1000, WRITE_CHUNK / 2);
    queue.advance(0, big, 1);
    expect(queue.push(0, big.frame as Buffer)).toBe(false);
    queue.advance(0, event(1), 1);
    expect(queue.push(0, big.frame as Buffer)).toBe(true);
  });

  it('gives clients in the same position state the same batch, built once', () => {
    const turn = new FlushQueue();
    const built: SharedChunk[] = [];
    const batches: Pick<FlushQueue, 'shared' | 'share'> = {
      shared: (from, to, events, parts) => turn.shared(from, to, events, parts),
      share: (chunk, events, parts) => {
        built.push(chunk);
        turn.share(chunk, events, parts);
      },
    };
    const same = [harness({ batches }), harness({ batches })].map((h) => queueAndTake(h.queue, [event(0), event(1)]));
    expect(same[0]).toBe(same[1]);
    expect(built).toHaveLength(1);
    // Another share key (other streams or format), another start, other events: other bytes.
    queueAndTake(harness({ batches, shareKey: 'other' }).queue, [event(0), event(1)]);
    queueAndTake(harness({ batches, starts: [{ topic: 't', partition: 0, offset: 1 }] }).queue, [event(1)]);
    queueAndTake(harness({ batches }).queue, [event(0)]);
    expect(built).toHaveLength(4);
    // Keyed by the two position states (shared by queues in step) and what lies between them.
    expect(turn.shared(built[0]!.from!, built[0]!.to!, 2, 4)).toBe(built[0]);
    expect(turn.shared(built[0]!.from!, built[0]!.to!, 1, 2)).toBeUndefined();
  });

  it('shares batches through the flush queue within one turn of the event loop', () => {
    const batches = new FlushQueue();
    const [a, b] = [harness({ batches }), harness({ batches })].map(({ queue }) => {
      queue.advance(0, event(0), 1);
      queue.push(0, event(0).frame as Buffer);
      return queue.take(() => undefined);
    });
    expect(a).toBe(b);
  });

  it('shares states and batches with clients that started elsewhere once their ids agree, on a live feed', () => {
    // Events of a live feed carry its seq; a replay's do not.
    const live = (offset: number): PreparedEvent => ({ ...event(offset), seq: offset + 1 });
    const converge = (make: (offset: number) => PreparedEvent) => {
      const batches = new FlushQueue();
      const states = new PositionStates();
      const early = harness({ batches, positions: states }).queue;
      const late = harness({ batches, positions: states, starts: [{ topic: 't', partition: 0, offset: 1 }] }).queue;
      queueAndTake(early, [make(0), make(1)]);
      queueAndTake(late, [make(1)]);
      expect(late.writtenId).toBe(early.writtenId);
      return [early, late].map((queue) => {
        queue.advance(0, make(2), 1);
        queue.push(0, make(2).frame as Buffer);
        return queue.take(() => undefined);
      });
    };
    const [a, b] = converge(live);
    // One batch, built once for both: the same object, so one compression per coding too.
    expect(a).toBe(b);
    expect(a!.bytes.toString()).toBe(`event: message\nid: ${idAfter(1002)}\ndata: {"o":2}\n\n`);
    // Replays are not looked up: the same bytes, built apart.
    const [c, d] = converge(event);
    expect(c).not.toBe(d);
    expect(c!.bytes.toString()).toBe(d!.bytes.toString());
    // A client answering in offsets says the same id now but not after the next event: not shared.
    const byOffset = harness({ starts: [{ topic: 't', partition: 0, offset: 0, requested: { topic: 't', partition: 0, offset: 0 } }] }).queue;
    expect(byOffset.writtenId).toBe(START_ID);
    expect(queueAndTake(byOffset, [live(0)])).not.toBe(queueAndTake(harness().queue, [live(0)]));
  });

  it('keeps the states of a client alone in its group to itself, and shares them while another is in it', () => {
    const live = (offset: number): PreparedEvent => ({ ...event(offset), seq: offset + 1 });
    const step = (queue: ClientQueue, offset: number) => queue.advance(0, live(offset), 1);
    const states = new PositionStates();
    const alone = harness({ positions: states }).queue;
    step(alone, 0);
    step(alone, 1);
    // Nobody else can reach its states: only the start is findable, and one state is made when read.
    expect(states.size).toEqual({ groups: 1, states: 1 });
    expect(alone.state).toBe(alone.state);
    expect(alone.state.toString()).toBe(idAfter(1001));
    const other = harness({ positions: states, starts: [{ topic: 't', partition: 0, offset: 1 }] }).queue;
    step(other, 1);
    step(alone, 2);
    step(other, 2);
    // Two in the group: their ids agree, so they share one state from here on.
    expect(other.state).toBe(alone.state);
    other.close();
    other.close();
    const before = states.size.states;
    step(alone, 3);
    // Closed (once, however often asked): alone again, its states are not interned.
    expect(states.size.states).toBe(before);
    expect(alone.state.toString()).toBe(idAfter(1003));
  });

  it('writes an id-only block when skipped events moved the id, once', () => {
    const { queue } = harness();
    expect(queue.takePosition()).toBeUndefined();
    queue.advance(0, event(0), 1);
    expect(queue.takePosition()).toBe(`id: ${idAfter(1000)}\n\n`);
    expect(queue.takePosition()).toBeUndefined();
    const ndjson = harness({ framing: framingFor('ndjson') }).queue;
    ndjson.advance(0, event(0), 1);
    expect(ndjson.takePosition()).toBeUndefined();
  });

  it('queues a position notice in SSE, at the id after a reset, and has no room for one in NDJSON', () => {
    const { queue } = harness();
    queue.reset({ topic: 't', partition: 0, offset: 50, notice: 'offset_before_earliest' });
    expect(queue.pushNotice('{"type":"position"}')).toBe(true);
    const id = '[{"topic":"t","partition":0,"offset":50}]';
    expect(queue.take(() => undefined).bytes.toString()).toBe(`event: notice\nid: ${id}\ndata: {"type":"position"}\n\n`);
    expect(queue.writtenId).toBe(id);
    expect(harness({ framing: framingFor('ndjson') }).queue.pushNotice('{}')).toBe(false);
  });
});

describe('ClientQueue budgets', () => {
  it('evicts a client whose backlog, queued or in the socket, outgrows its budget', () => {
    const { queue, outlet, evicted } = harness({ backlogBytes: 1000 });
    queue.push(0, event(0, 1000, 500).frame as Buffer);
    expect(queue.keepWithinBudget()).toBe(true);
    outlet.buffered = 600;
    expect(queue.keepWithinBudget()).toBe(false);
    expect(evicted).toEqual(['slow_client']);
    expect([queue.closed, queue.queuedBytes]).toEqual([true, 0]);
  });

  it('past the process-wide budget, sheds the longest queue first', () => {
    const guard = new LoadGuard(LAGGING_BYTES, 1e9);
    const [short, long] = [harness({}, guard), harness({}, guard)];
    const frame = event(0, 1000, LAGGING_BYTES).frame as Buffer;
    short.queue.push(0, frame);
    expect(short.queue.keepWithinBudget()).toBe(true);
    long.queue.push(0, frame);
    long.queue.push(0, frame);
    // The long queue sheds itself; the short one stays.
    expect(long.queue.keepWithinBudget()).toBe(false);
    expect([short.evicted, long.evicted]).toEqual([[], ['overloaded']]);
    // What clients queue beyond LAGGING_BYTES counts: they are behind.
    expect(guard.queuedBytes).toBe(short.queue.queuedBytes - LAGGING_BYTES);
    short.queue.take(() => undefined);
    expect(guard.queuedBytes).toBe(0);
  });
});

describe('ClientQueue backpressure and stalls', () => {
  it('lets readers on at once while the client has room', async () => {
    const { queue, outlet } = harness({ backlogBytes: 1000 });
    outlet.buffered = 249;
    await queue.writable();
    expect(outlet.drainsAwaited).toBe(0);
  });

  it('holds readers until the socket drains below a quarter of the budget', async () => {
    const { queue, outlet, timers } = harness({ backlogBytes: 1000 });
    outlet.buffered = 900;
    let resumed = false;
    void queue.writable().then(() => (resumed = true));
    expect([outlet.drainsAwaited, timers.due.size]).toEqual([1, 1]);
    // Drained, but not enough: wait for the next drain.
    outlet.buffered = 300;
    queue.release();
    await Promise.resolve();
    expect([resumed, outlet.drainsAwaited]).toEqual([false, 2]);
    outlet.buffered = 0;
    queue.release();
    await Promise.resolve();
    // And the stall timer is off.
    expect([resumed, timers.due.size]).toEqual([true, 0]);
  });

  it('holds readers until the client queues no more than the current write while the process is past half its budget', async () => {
    const guard = new LoadGuard(1_000_000, 1e9);
    const { queue, outlet } = harness({ backlogBytes: 1 << 20 }, guard);
    outlet.buffered = 100 * 1024;
    expect(queue.hasRoom).toBe(true);
    // Other clients' queues take more than half the process's budget: replays wait for the sockets.
    guard.queued(600_000);
    let resumed = false;
    void queue.writable().then(() => (resumed = true));
    outlet.buffered = LAGGING_BYTES;
    queue.release();
    await Promise.resolve();
    expect(resumed).toBe(false);
    outlet.buffered = LAGGING_BYTES - 1;
    queue.release();
    await Promise.resolve();
    expect(resumed).toBe(true);
    guard.queued(-600_000);
    outlet.buffered = 100 * 1024;
    expect(queue.hasRoom).toBe(true);
  });

  it('evicts a client that makes no room before the stall timeout', async () => {
    const { queue, outlet, timers, evicted } = harness({ backlogBytes: 1000 });
    outlet.buffered = 900;
    const waiting = queue.writable();
    void queue.writable();
    expect(timers.due.size).toBe(1);
    timers.runAll();
    expect(evicted).toEqual(['slow_client']);
    // Closing lets the waiting readers go on (they find the client ended).
    await waiting;
  });

  it('waits forever with no stall timeout, and not at all once closed', async () => {
    const { queue, outlet, timers } = harness({ backlogBytes: 1000, stallMs: 0 });
    outlet.buffered = 900;
    const waiting = queue.writable();
    expect(timers.due.size).toBe(0);
    queue.close();
    await waiting;
    await queue.writable();
  });
});
