import { PositionStates } from '../../src/stream/position-ids.ts';
import { Compression } from '../../src/compress/encoder.ts';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { LoadGuard } from '../../src/admission/load-guard.ts';
import { dataLineBuffer } from '../../src/event/frame.ts';
import type { PreparedEvent } from '../../src/event/prepared-event.ts';
import { Metrics } from '../../src/metrics/registry.ts';
import type { StreamFormat } from '../../src/protocol/content-type.ts';
import { RedactedPages } from '../../src/sanitize/redacted-pages.ts';
import { Sanitizer } from '../../src/sanitize/sanitizer.ts';
import { SuppressionIndex } from '../../src/sanitize/suppression-index.ts';
import { EventSelection } from '../../src/selection/event-selection.ts';
import { FlushQueue } from '../../src/stream/flush-queue.ts';
import { framingFor } from '../../src/stream/framing.ts';
import { StreamSession, type SessionOptions } from '../../src/stream/session.ts';

const silent = pino({ level: 'silent' });
const event = (offset: number): PreparedEvent => ({ topic: 't', partition: 0, offset, timestamp: 1000 + offset, canary: false, frame: dataLineBuffer(`{"n":${offset}}`) });
const idAfter = (offset: number) => `[{"topic":"t","partition":0,"timestamp":${1001 + offset},"ts_seen":1}]`;
const START_ID = '[{"topic":"t","partition":0,"offset":0}]';
const turn = () => new Promise((resolve) => setImmediate(resolve));

const guards: LoadGuard[] = [];
afterEach(() => {
  for (const guard of guards.splice(0)) guard.stop();
});

/** A session on a response whose socket is a PassThrough read into `output`. */
function session(format: StreamFormat, options: Partial<SessionOptions> = {}) {
  const metrics = new Metrics();
  const guard = new LoadGuard(1e9, 1e9);
  guards.push(guard);
  const socket = {
    destroyed: false,
    destroy(): void {
      this.destroyed = true;
    },
    resetAndDestroy(): void {
      this.destroyed = true;
    },
  };
  const res = Object.assign(new PassThrough(), { socket });
  let output = '';
  res.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stream = new StreamSession(res, {
    framing: framingFor(format),
    encoder: new Compression({ deflateLevel: 6, zstdLevel: 3, maxSharedHistories: 0, maxSharedZstdStreams: 0 }).encoder('identity', 'k'),
    positions: new PositionStates(),
    starts: [{ topic: 't', partition: 0, offset: 0 }],
    dropped: [],
    selection: new EventSelection('k', new Sanitizer(new SuppressionIndex(10), new RedactedPages({}), () => undefined, metrics, silent), new Set()),
    countFiltered: () => undefined,
    backlogBytes: 1 << 20,
    stallMs: 0,
    heartbeatIntervalMs: 1000,
    shareKey: `${format}|k`,
    reconnectDelayMs: 2000,
    flush: new FlushQueue(),
    guard,
    metrics,
    log: silent,
    ...options,
  });
  stream.open();
  return { stream, socket, output: () => output };
}

describe('StreamSession', () => {
  it('writes SSE events with their ids once per turn, and counts them', async () => {
    const { stream, output } = session('sse');
    stream.cursors[0]!.offer(event(0));
    stream.cursors[0]!.offer(event(1));
    await turn();
    const expected = `:ok\n\nevent: message\nid: ${idAfter(0)}\ndata: {"n":0}\n\nevent: message\nid: ${idAfter(1)}\ndata: {"n":1}\n\n`;
    expect(output()).toBe(expected);
    expect(stream.stats).toEqual({ eventsSent: 2, bytesSent: Buffer.byteLength(expected) });
  });

  it('writes NDJSON events as lines', async () => {
    const { stream, output } = session('ndjson');
    stream.cursors[0]!.offer(event(0));
    await turn();
    expect(output()).toBe('\n{"n":0}\n');
  });

  it('fills silences with an id-only block when skipped events moved the id, else a heartbeat', async () => {
    const { stream, output } = session('sse');
    stream.skip(0, event(0), 1);
    stream.tick(Date.now() + 1000);
    stream.tick(Date.now() + 2000);
    await turn();
    expect(output()).toBe(`:ok\n\nid: ${idAfter(0)}\n\n:\n\n`);
  });

  it('evicts a client past its budget with an error carrying the id it has, then closes its connection', async () => {
    const { stream, socket, output } = session('sse', { backlogBytes: 50 });
    stream.cursors[0]!.offer(event(0));
    await turn();
    expect(output()).toContain(`event: error\nid: ${START_ID}\ndata: {"name":"SlowClient"`);
    expect(output()).not.toContain('event: message');
    expect([stream.ended, stream.endReason, socket.destroyed]).toEqual([true, 'slow_client', true]);
  });

  it('ends at its deadline with reconnection advice, and its starting id when it was sent no event', async () => {
    const { stream, output } = session('sse', { deadline: Date.now() });
    stream.tick(Date.now());
    await turn();
    // Without the id, the client would come back at the new end of the topics and miss what came meanwhile.
    expect(output().startsWith(`:ok\n\nid: ${START_ID}\n\nretry: `)).toBe(true);
    expect(output()).toMatch(/retry: (\d+)\n\n$/);
    const retry = Number(/retry: (\d+)/.exec(output())?.[1]);
    expect(retry).toBeGreaterThanOrEqual(2000);
    expect(retry).toBeLessThanOrEqual(4000);
    expect([stream.ended, stream.endReason]).toEqual([true, 'max_duration']);
  });
});

describe('StreamSession replaying several partitions', () => {
  const at = (partition: number, offset: number, timestamp: number): PreparedEvent => ({
    topic: 't',
    partition,
    offset,
    timestamp,
    canary: false,
    frame: dataLineBuffer(`{"p":${partition},"ts":${timestamp}}`),
  });
  const starts = [
    { topic: 't', partition: 0, offset: 0 },
    { topic: 't', partition: 1, offset: 0 },
  ];
  const sent = (output: string) => [...output.matchAll(/"ts":(\d+)/g)].map((m) => Number(m[1]));
  /** Timers run by hand: `fire()` runs the pending ones. */
  function manualTimers() {
    let pending: (() => void)[] = [];
    return {
      schedule: (_ms: number, run: () => void) => {
        pending.push(run);
        return () => (pending = pending.filter((r) => r !== run));
      },
      fire: () => {
        const now = pending;
        pending = [];
        for (const run of now) run();
      },
    };
  }

  it('sends the partitions merged by event time, and ids only of what it sent', async () => {
    const { stream, output } = session('sse', { starts, replayLookaheadBytes: 1 << 16, replayOrderWaitMs: 1000 });
    stream.cursors[0]!.offer(at(0, 0, 10));
    stream.cursors[0]!.offer(at(0, 1, 30));
    // Partition 1 has given nothing yet: partition 0's events wait, and the id stays at the start.
    expect(stream.id).toBe('[{"topic":"t","partition":0,"offset":0},{"topic":"t","partition":1,"offset":0}]');
    stream.cursors[1]!.offer(at(1, 0, 20));
    stream.cursors[1]!.offer(at(1, 1, 40));
    await turn();
    expect(sent(output())).toEqual([10, 20, 30]);
    expect(output()).toContain('id: [{"topic":"t","partition":0,"timestamp":11,"ts_seen":1},{"topic":"t","partition":1,"timestamp":21,"ts_seen":1}]\ndata: {"p":1,"ts":20}');
    // Partition 0 reached the live tail: partition 1 no longer waits for it.
    stream.caughtUp(0);
    stream.caughtUp(1);
    // Both live: events go straight out.
    stream.cursors[1]!.offer(at(1, 2, 50));
    stream.cursors[0]!.offer(at(0, 2, 45));
    await turn();
    expect(sent(output())).toEqual([10, 20, 30, 40, 50, 45]);
  });

  it('makes a reader whose partition ran ahead wait, and goes on without a partition that delivers nothing for the wait', async () => {
    const timers = manualTimers();
    const metrics = new Metrics();
    const { stream, output } = session('sse', { starts, replayLookaheadBytes: 64, replayOrderWaitMs: 1000, schedule: timers.schedule, metrics });
    stream.cursors[0]!.offer(at(0, 0, 10));
    stream.cursors[0]!.offer(at(0, 1, 11));
    let ready = false;
    void stream.cursors[0]!.writable().then(() => (ready = true));
    await turn();
    expect([ready, sent(output())]).toEqual([false, []]);
    // Partition 1 delivered nothing for the wait: partition 0 goes on without it.
    timers.fire();
    await turn();
    expect([ready, sent(output())]).toEqual([true, [10, 11]]);
    expect((await metrics.replayOrderGivenUp.get()).values[0]?.value).toBe(1);
    // Partition 1's late event goes at once (now out of order), and the merge waits for it again.
    stream.cursors[1]!.offer(at(1, 0, 5));
    stream.cursors[0]!.offer(at(0, 2, 12));
    await turn();
    expect(sent(output())).toEqual([10, 11, 5]);
  });

  it('lets a reader go on once the others caught up with its partition in time', async () => {
    const { stream, output } = session('sse', { starts, replayLookaheadBytes: 64, replayOrderWaitMs: 1000, schedule: manualTimers().schedule });
    stream.cursors[0]!.offer(at(0, 0, 10));
    stream.cursors[0]!.offer(at(0, 1, 11));
    let ready = false;
    const wait = stream.cursors[0]!.writable().then(() => (ready = true));
    stream.cursors[1]!.offer(at(1, 0, 20));
    await wait;
    expect(ready).toBe(true);
    await turn();
    expect(sent(output())).toEqual([10, 11]);
  });

  it('moves a lost position in its turn, after the events held before it', async () => {
    const { stream, output } = session('sse', { starts, replayLookaheadBytes: 1 << 16, replayOrderWaitMs: 1000, schedule: manualTimers().schedule });
    stream.cursors[0]!.offer(at(0, 0, 10));
    stream.cursors[0]!.jump(50, 'offset_before_earliest');
    await turn();
    expect(output()).not.toContain('notice');
    stream.cursors[1]!.offer(at(1, 0, 20));
    await turn();
    const text = output();
    expect(sent(text)).toEqual([10]);
    expect(text.indexOf('"ts":10')).toBeLessThan(text.indexOf('event: notice'));
    expect(stream.id).toContain('{"topic":"t","partition":0,"offset":50}');
  });
});
