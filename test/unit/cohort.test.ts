import { EventEmitter } from 'node:events';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { LoadGuard } from '../../src/admission/load-guard.ts';
import { Compression } from '../../src/compress/encoder.ts';
import type { ContentCoding } from '../../src/protocol/content-coding.ts';
import { constants, gunzipSync } from 'node:zlib';
import { dataLineBuffer } from '../../src/event/frame.ts';
import type { PreparedEvent } from '../../src/event/prepared-event.ts';
import { PartitionFeed } from '../../src/fanout/partition-feed.ts';
import { oneFeedSource } from '../../bench/lib/one-feed-source.ts';
import { Metrics } from '../../src/metrics/registry.ts';
import { RedactedPages } from '../../src/sanitize/redacted-pages.ts';
import { Sanitizer } from '../../src/sanitize/sanitizer.ts';
import { SuppressionIndex } from '../../src/sanitize/suppression-index.ts';
import { EventSelection } from '../../src/selection/event-selection.ts';
import { Cohorts } from '../../src/stream/cohort.ts';
import { FlushQueue, SLICE_WRITES } from '../../src/stream/flush-queue.ts';
import { framingFor } from '../../src/stream/framing.ts';
import { PositionStates } from '../../src/stream/position-ids.ts';
import { StreamSession } from '../../src/stream/session.ts';
import type { StreamResponse } from '../../src/stream/socket-writer.ts';

const silent = pino({ level: 'silent' });
const turn = () => new Promise((resolve) => setImmediate(resolve));
// Larger than the socket's high-water mark: every write makes the writer ask the socket how full it is.
const PADDING = 'x'.repeat(70 * 1024);
const event = (offset: number): PreparedEvent => ({
  topic: 't',
  partition: 0,
  offset,
  timestamp: 1000 + offset,
  canary: false,
  frame: dataLineBuffer(`{"n":${offset},"pad":"${PADDING}"}`),
});
/** A response that keeps what it is sent; while `stalled`, what it is sent stays in its buffer. */
class Response extends EventEmitter implements StreamResponse {
  writableLength = 0;
  stalled = false;
  destroyed = false;
  readonly socket = { destroyed: false, destroy: (): void => this.close(), resetAndDestroy: (): void => this.close() };
  readonly chunks: Buffer[] = [];

  write(chunk: string | Buffer): boolean {
    this.chunks.push(Buffer.from(chunk));
    if (this.stalled) this.writableLength += chunk.length;
    return !this.stalled;
  }

  end(callback?: () => void): void {
    callback?.();
  }

  close(): void {
    this.destroyed = true;
    this.emit('close');
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString();
  }
}

const guards: LoadGuard[] = [];
afterEach(() => {
  for (const guard of guards.splice(0)) guard.stop();
});

/** `n` clients of one stream on one partition's feed, as the hub places them; cohorts on or off. */
function clients(n: number, cohortsOn: boolean, totalBacklogBytes = 1e9, coding: ContentCoding = 'identity') {
  const metrics = new Metrics();
  const guard = new LoadGuard(totalBacklogBytes, 1e9);
  guards.push(guard);
  const passes: number[] = [];
  const flush = new FlushQueue(undefined, (seconds) => passes.push(seconds));
  const positions = new PositionStates();
  const compression = new Compression({ deflateLevel: 6, zstdLevel: 3, maxSharedHistories: 10, maxSharedZstdStreams: 10 });
  const selection = new EventSelection('k', new Sanitizer(new SuppressionIndex(10), new RedactedPages({}), () => undefined, metrics, silent), new Set());
  const feed = new PartitionFeed('t', 0, 0, 1 << 24);
  const source = oneFeedSource(feed);
  const cohorts = cohortsOn ? new Cohorts(source) : undefined;
  const list = Array.from({ length: n }, () => {
    const res = new Response();
    const session = new StreamSession(res, {
      framing: framingFor('sse'),
      encoder: compression.encoder(coding, 'sse|k'),
      positions,
      starts: [{ topic: 't', partition: 0, offset: 0 }],
      dropped: [],
      selection,
      countFiltered: () => undefined,
      backlogBytes: 1 << 20,
      stallMs: 0,
      heartbeatIntervalMs: 1000,
      shareKey: 'sse|k',
      reconnectDelayMs: 1000,
      flush,
      ...(cohorts !== undefined ? { cohorts } : {}),
      guard,
      metrics,
      log: silent,
    });
    session.open();
    session.follow(source, new Map());
    return { res, session };
  });
  let next = 0;
  return {
    feed,
    guard,
    cohorts,
    /** Durations of the flush queue's passes so far. */
    passes,
    clients: list,
    /** The next `count` events from the feed, and the turn that writes them. */
    async produce(count = 1): Promise<void> {
      for (let i = 0; i < count; i++, next++) feed.accept([event(next)], next + 1, undefined);
      await turn();
      await turn();
    },
  };
}

describe('cohorts', () => {
  it('serve clients in step as one: one cursor on the feed, and every client the bytes of a client served alone', async () => {
    const alone = clients(1, false);
    const many = clients(5, true);
    for (const run of [alone, many]) await run.produce(3);
    expect(many.cohorts!.size).toBe(1);
    // The cohort's cursor follows the feed for all five.
    expect(many.feed.clients).toBe(1);
    await Promise.all([alone, many].map((run) => run.produce(4)));
    const expected = alone.clients[0]!.res.text;
    expect(expected.match(/event: message/g)).toHaveLength(7);
    for (const { res, session } of many.clients) {
      expect(res.text).toBe(expected);
      expect(session.stats.eventsSent).toBe(7);
    }
  });

  it('keep a member whose socket fills while it holds less than its budget, and disconnect it past that with the id it has', async () => {
    const alone = clients(1, false);
    const many = clients(3, true);
    await Promise.all([alone, many].map((run) => run.produce(2)));
    const slow = many.clients[1]!;
    slow.res.stalled = true;
    // 1 MiB of budget: 14 more events of 70 KiB fit, the 15th does not.
    await Promise.all([alone, many].map((run) => run.produce(14)));
    expect([many.feed.clients, slow.session.ended]).toEqual([1, false]);
    expect(slow.res.text).toBe(alone.clients[0]!.res.text);
    // Checked before each pass writes it: the 15th is written, and the pass after that finds it past its budget.
    for (let i = 0; i < 2; i++) await Promise.all([alone, many].map((run) => run.produce(1)));
    expect([slow.session.ended, slow.session.endReason]).toEqual([true, 'slow_client']);
    const text = slow.res.text;
    const lastId = text.slice(text.lastIndexOf('event: message\nid: ') + 19).split('\n')[0];
    expect(text.slice(text.lastIndexOf('event: error'))).toContain(`id: ${lastId}\ndata: {"name":"SlowClient"`);
    // The others go on in their cohort.
    expect(many.feed.clients).toBe(1);
    expect(many.clients[0]!.res.text).toBe(alone.clients[0]!.res.text);
  });

  it('count what the socket of a stalled member holds against the process budget, and shed it first past that', async () => {
    // 512 KiB in all: the stalled member's socket passes it after about 8 more events.
    const many = clients(3, true, 512 * 1024);
    await many.produce(2);
    const slow = many.clients[0]!;
    slow.res.stalled = true;
    // Its socket is counted before each pass writes it.
    for (let i = 0; i < 4; i++) await many.produce(1);
    expect(many.guard.queuedBytes).toBeGreaterThan(0);
    expect(slow.session.ended).toBe(false);
    for (let i = 0; i < 6; i++) await many.produce(1);
    expect([slow.session.ended, slow.session.endReason]).toEqual([true, 'overloaded']);
    expect(many.guard.queuedBytes).toBe(0);
    expect(many.clients.slice(1).map((c) => c.session.ended)).toEqual([false, false]);
  });

  it('let a member leave for its own heartbeat and join again at once, going on exactly from where the cohort is', async () => {
    const alone = clients(1, false);
    const many = clients(3, true);
    await Promise.all([alone, many].map((run) => run.produce(3)));
    const quiet = many.clients[2]!;
    quiet.session.tick(Date.now() + 60_000);
    // A heartbeat moves no position: it is back in its cohort at once.
    expect(many.feed.clients).toBe(1);
    expect(many.cohorts!.size).toBe(1);
    await Promise.all([alone, many].map((run) => run.produce(3)));
    expect(many.feed.clients).toBe(1);
    // Its bytes: the others', with its heartbeat where it left.
    const heartbeat = ':\n\n';
    const expected = alone.clients[0]!.res.text;
    const at = expected.split('event: message').slice(0, 4).join('event: message').length;
    expect(quiet.res.text).toBe(expected.slice(0, at) + heartbeat + expected.slice(at));
    for (const { session } of many.clients) expect(session.stats.eventsSent).toBe(6);
  });

  it('end a member with the id of what it was sent, and end with their last member', async () => {
    const alone = clients(1, false);
    const many = clients(3, true);
    await Promise.all([alone, many].map((run) => run.produce(3)));
    alone.clients[0]!.session.close(0);
    many.clients[0]!.session.close(0);
    const idOf = (text: string) => text.slice(text.lastIndexOf('\nid: ') + 5, text.indexOf('\n', text.lastIndexOf('\nid: ') + 5));
    expect(idOf(many.clients[0]!.res.text)).toBe(idOf(alone.clients[0]!.res.text));
    expect(many.cohorts!.size).toBe(1);
    many.clients[1]!.res.close();
    many.clients[2]!.res.close();
    expect(many.cohorts!.size).toBe(0);
    expect(many.feed.clients).toBe(0);
  });

  it(`write a pass over many members ${SLICE_WRITES} per turn, and the members still to come in it get the events that arrived meanwhile`, async () => {
    const alone = clients(1, false);
    const n = SLICE_WRITES + 72;
    const many = clients(n, true);
    await Promise.all([alone, many].map((run) => run.produce(2)));
    expect(many.cohorts!.size).toBe(1);
    const messages = (text: string) => text.split('event: message').length - 1;
    const counts = () => many.clients.map(({ res }) => messages(res.text)).sort((a, b) => a - b);
    await alone.produce(2);
    // The third event, and one slice of the pass that writes it.
    many.feed.accept([event(2)], 3, undefined);
    await turn();
    expect(counts()).toEqual([...Array<number>(72).fill(2), ...Array<number>(SLICE_WRITES).fill(3)]);
    const toCome = many.clients.filter(({ res }) => messages(res.text) === 2);
    // The fourth arrives while 72 members have not been written the third: they get both, and
    // the rest of the turn's slice starts the next pass, which brings 56 others the fourth.
    many.feed.accept([event(3)], 4, undefined);
    await turn();
    expect(counts()).toEqual([...Array<number>(72).fill(3), ...Array<number>(128).fill(4)]);
    for (const { res } of toCome) expect(messages(res.text)).toBe(4);
    // The next pass brings the others the fourth, and everyone has exactly the bytes of a client alone.
    await turn();
    await turn();
    for (const { res } of many.clients) expect(res.text).toBe(alone.clients[0]!.res.text);
  });

  it('take one place in the next pass, however many turns their own pass takes and however many events arrive meanwhile', async () => {
    // A pass over 4 slices of members, an event every turn: each pass must end and leave one more.
    const many = clients(SLICE_WRITES * 4, true);
    await many.produce(1);
    const before = many.passes.length;
    for (let i = 1; i <= 40; i++) {
      many.feed.accept([event(i)], i + 1, undefined);
      await turn();
    }
    // Once per cohort pass (4 or 5 turns), not one place per event or slice, which made each pass longer than the last.
    expect(many.passes.length - before).toBeGreaterThanOrEqual(7);
    await turn();
    await turn();
    await turn();
    await turn();
    await turn();
    const written = many.clients.map(({ res }) => res.text.split('event: message').length - 1);
    expect(new Set(written)).toEqual(new Set([41]));
  });

  it('write gzip members the chunks they lack in one write that decodes to the bytes of a client alone', async () => {
    const alone = clients(1, false);
    const many = clients(SLICE_WRITES + 72, true, 1e9, 'gzip');
    await Promise.all([alone, many].map((run) => run.produce(2)));
    await alone.produce(2);
    many.feed.accept([event(2)], 3, undefined);
    await turn();
    many.feed.accept([event(3)], 4, undefined);
    await turn();
    await turn();
    await turn();
    // Each member's body so far is a gzip stream without its trailer: decode what it holds.
    const decode = (body: Buffer) => gunzipSync(body, { finishFlush: constants.Z_SYNC_FLUSH }).toString();
    for (const { res } of many.clients) expect(decode(Buffer.concat(res.chunks))).toBe(alone.clients[0]!.res.text);
  });
});
