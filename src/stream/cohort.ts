import type { LoadGuard } from '../admission/load-guard.ts';
import type { SharedChunk } from '../compress/shared-chunk.ts';
import { PartitionCursor, type EventSink } from '../fanout/cursor.ts';
import type { EventSource, Subscription } from '../fanout/source.ts';
import type { PreparedEvent } from '../event/prepared-event.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { StartPosition } from '../protocol/position.ts';
import type { EventSelection } from '../selection/event-selection.ts';
import { ClientQueue, LAGGING_BYTES } from './client-queue.ts';
import { SLICE_WRITES, type FlushQueue, type GroupFlushable } from './flush-queue.ts';
import type { Framing } from './framing.ts';
import { JoinedRuns } from './joined-runs.ts';
import type { PositionState, PositionStates } from './position-ids.ts';

/** Chunks cut per pass over a cohort's members, at most (besides those its queue's size forces). */
const CUTS_PER_PASS = 8;

/** A client as its cohort sees it (`StreamSession`). */
export interface CohortMember {
  /** Where it is in its cohort's list (kept by the cohort: removal is a swap). */
  cohortIndex: number;
  /** The number of the first of its cohort's chunks it has not been written yet (kept by the cohort). */
  cohortNext: number;
  /**
   * Before each chunk: leaves the cohort if its connection is gone or it is too far behind, and
   * counts what its socket holds against the process-wide budget.
   */
  keepUp(): void;
  /** Writes chunks of the cohort's to the client's socket, `chunks[from]` (chunk number `start`) and those after it, in one write. */
  writeRun(chunks: readonly SharedChunk[], from: number, start: number, runs: JoinedRuns): void;
  /**
   * Leaves the cohort and goes on by itself from where the cohort is (`resubscribe`: following the
   * feeds again), after `Cohort.catchUp` wrote it what the cohort's pass had not yet.
   */
  fallOut(resubscribe: boolean): void;
  /** Moves to another cohort in the same state. */
  moveTo(cohort: Cohort): void;
  positionLost(start: StartPosition): void;
  fail(name: string, message: string): void;
}

/** What a cohort is built from: the first client in step, whose position and group it takes. */
export interface CohortSeed {
  starts: readonly StartPosition[];
  framing: Framing;
  selection: EventSelection;
  countFiltered: (topic: string, clients: number) => void;
  shareKey: string;
  positions: PositionStates;
  backlogBytes: number;
  flush: FlushQueue;
  guard: LoadGuard;
  metrics: Metrics;
  /** The client's queue, empty, at the position the cohort starts from. */
  queue: ClientQueue;
  /** The client's cursors, all following their feeds live. */
  cursors: readonly PartitionCursor[];
}

/**
 * Clients of one group (same streams, filter and format) that have been sent exactly the same
 * bytes so far, served as one: the cohort follows the feeds, queues each event once and cuts what
 * it queued into chunks that every member is written in order. Per event nothing is done per
 * member; per pass, one write. A member that needs more than the cohort's events (its own
 * heartbeat, an end, a lost position) leaves with a copy of the cohort's position and queue and
 * goes on by itself (`CohortMember.fallOut`); it comes back once it is in step again (`Cohorts.join`).
 *
 * A pass over thousands of members spans many turns of the event loop (`FlushQueue`). Events that
 * arrive meanwhile are cut into a new chunk at the next slice, so the members still to come get
 * them in the same write; the others get them on the next pass. Chunks are kept until every
 * member has them: at most what arrives during one pass.
 */
export class Cohort implements EventSink, GroupFlushable {
  readonly cursors: PartitionCursor[];
  readonly queue: ClientQueue;
  readonly members: CohortMember[] = [];
  readonly index = undefined;
  readonly shareGroup: object;
  /** Events handed to every member so far: a member counts its share from when it joined. */
  eventsSent = 0;
  /** The written state it is registered under (`Cohorts`). */
  key: PositionState;
  readonly #seed: CohortSeed;
  readonly #registry: Cohorts;
  readonly #subscription: Subscription;
  #marked = false;
  #dissolved = false;
  /** Chunks not yet written to every member, in order; `#chunks[0]` is chunk number `#firstChunk`. */
  #chunks: SharedChunk[] = [];
  #firstChunk = 0;
  #chunkBytes = 0;
  /** Of `#chunkBytes`, what counts against the process-wide budget: what lies beyond `LAGGING_BYTES`. */
  #countedBytes = 0;
  /** The runs of chunks written to members in one write, ending at the last chunk. */
  readonly #runs = new JoinedRuns();
  /** The next member of the pass being written (passes go from the last member down); -1: none. */
  #passAt = -1;
  /** Members written since the last chunk was cut. */
  #sinceCut = 0;
  readonly #countSent = (slot: number, events: number): void => {
    this.eventsSent += events;
    this.#seed.metrics.countSent(this.cursors[slot]!.topic, events * this.members.length);
  };

  constructor(seed: CohortSeed, registry: Cohorts, source: EventSource) {
    this.#seed = seed;
    this.#registry = registry;
    this.shareGroup = seed.selection;
    this.queue = new ClientQueue(
      {
        starts: seed.starts,
        framing: seed.framing,
        backlogBytes: seed.backlogBytes,
        stallMs: 0,
        shareKey: seed.shareKey,
        positions: seed.positions,
        batches: seed.flush,
        guard: seed.guard,
        // Too much queued (the process is overloaded): every member goes on by itself, by the usual rules.
        evict: () => this.dissolve(),
      },
      // Nothing waits in a socket of the cohort's own: what it queues is written on the next flush.
      { buffered: 0, bufferedAtMost: 0, awaitDrain: () => this.#mark() },
    );
    this.queue.follow(seed.queue, false);
    this.key = this.queue.written;
    this.cursors = seed.cursors.map((c) => {
      const cursor = new PartitionCursor(this, c.slot, c.topic, c.partition, c.next);
      cursor.lastSeq = c.lastSeq;
      return cursor;
    });
    this.#subscription = source.subscribe(this.cursors, new Map());
  }

  get ended(): boolean {
    return this.#dissolved;
  }

  /** Members may join: nothing queued, and its position is `state`. */
  at(state: PositionState): boolean {
    return !this.#dissolved && this.queue.empty && this.queue.written === state && this.queue.state === state;
  }

  /** Joins `member`, which has been written everything the cohort cut so far. */
  add(member: CohortMember): void {
    member.cohortIndex = this.members.length;
    member.cohortNext = this.#firstChunk + this.#chunks.length;
    this.members.push(member);
  }

  get flushing(): boolean {
    return this.#passAt >= 0;
  }

  remove(member: CohortMember): void {
    const members = this.members;
    const last = members.pop()!;
    if (last !== member) {
      members[member.cohortIndex] = last;
      last.cohortIndex = member.cohortIndex;
    }
    if (members.length === 0) this.dissolve();
  }

  receive(slot: number, event: PreparedEvent, consumed: number): void {
    const queue = this.queue;
    queue.advance(slot, event, consumed);
    const frame = this.#seed.selection.select(event);
    if (typeof frame === 'string') {
      if (frame === 'filtered') this.#seed.countFiltered(event.topic, this.members.length);
      return;
    }
    // One write per member per fetch where a client alone writes every 16 KiB: the queue is one
    // for all members, so it may hold up to what the process budget leaves uncounted.
    queue.push(slot, frame);
    if (queue.queuedBytes >= LAGGING_BYTES) this.#cut();
    if (queue.keepWithinBudget()) this.#mark();
  }

  skip(slot: number, event: PreparedEvent, consumed: number): void {
    this.queue.advance(slot, event, consumed);
  }

  caughtUp(): void {}

  writable(): Promise<void> {
    return this.queue.writable();
  }

  positionLost(start: StartPosition): void {
    for (const member of this.#leaveAll(true)) member.positionLost(start);
  }

  fail(name: string, message: string): void {
    for (const member of this.#leaveAll(false)) member.fail(name, message);
  }

  /**
   * Writes a slice of the members of its pass (starting one if none is under way) everything cut
   * that they do not have; what was queued since the last slice is cut first, so they get it too.
   * Members that cannot keep up go on by themselves or are disconnected (`CohortMember.keepUp`).
   */
  flush(budget: number): number {
    // Marked = in the flush queue's next pass. Only the first call of a pass takes it out of that:
    // the calls that go on with the pass must not put it in again, once per slice, or each pass
    // would hold the cohort as many times as the one before had slices, and never end.
    if (this.#passAt < 0) this.#marked = false;
    if (this.#dissolved) return 0;
    const members = this.members;
    // Mid-pass, at most every eighth of the members: a member is written every chunk cut since its
    // last write, one by one through its coding, so cuts per pass are what a write costs.
    if (this.#passAt < 0 || this.#sinceCut >= Math.max(SLICE_WRITES, members.length / CUTS_PER_PASS)) this.#cut();
    if (this.#dissolved) return 0;
    if (this.#passAt < 0) {
      if (this.#chunks.length === 0) return 0;
      this.#passAt = members.length - 1;
    }
    let written = 0;
    // Downwards: a member that leaves is replaced by the last one, already written this pass.
    while (written < budget && this.#passAt >= 0) {
      const member = members[this.#passAt--];
      if (member === undefined) continue;
      member.keepUp();
      if (this.#dissolved) return written;
      // It left (the one now in its place was written this pass).
      if (members[this.#passAt + 1] !== member) continue;
      this.catchUp(member);
      written++;
      this.#sinceCut++;
    }
    // After the members counted what their sockets hold.
    const guard = this.#seed.guard;
    if (guard.overBudget()) guard.enforce();
    if (this.#passAt < 0 && !this.#dissolved) this.#passDone();
    return written;
  }

  /** Writes `member` the chunks it does not have yet. */
  catchUp(member: CohortMember): void {
    const end = this.#firstChunk + this.#chunks.length;
    const next = member.cohortNext;
    if (next < end) member.writeRun(this.#chunks, next - this.#firstChunk, next, this.#runs);
    member.cohortNext = end;
  }

  /** Between passes, what is queued becomes the next chunk: clients in step with it find it at their position. */
  cut(): void {
    if (this.#passAt < 0) this.#cut();
  }

  /** What is queued becomes the next chunk for every member. */
  #cut(): void {
    if (this.#dissolved || this.queue.empty) return;
    this.#sinceCut = 0;
    const from = this.queue.written;
    const chunk = this.queue.take(this.#countSent);
    this.queue.release();
    this.#chunks.push(chunk);
    this.#runs.clear();
    this.#count(chunk.bytes.length);
    this.#mark();
    this.#registry.moved(this, from);
  }

  /** Forgets the chunks every member has; another pass when some do not have them all. */
  #passDone(): void {
    let oldest = this.#firstChunk + this.#chunks.length;
    for (const member of this.members) if (member.cohortNext < oldest) oldest = member.cohortNext;
    const drop = oldest - this.#firstChunk;
    if (drop === 0) return;
    let bytes = 0;
    for (let i = 0; i < drop; i++) bytes += this.#chunks[i]!.bytes.length;
    this.#chunks.splice(0, drop);
    this.#runs.clear();
    this.#firstChunk = oldest;
    this.#count(-bytes);
    if (this.#chunks.length > 0) this.#mark();
  }

  /** Keeps the process-wide account of what the cohort's chunks hold beyond `LAGGING_BYTES`. */
  #count(bytes: number): void {
    this.#chunkBytes += bytes;
    const counted = Math.max(0, this.#chunkBytes - LAGGING_BYTES);
    if (counted !== this.#countedBytes) this.#seed.guard.queued(counted - this.#countedBytes);
    this.#countedBytes = counted;
  }

  /** Takes in the members of `other`, in the same state with nothing queued; `other` ends. */
  absorb(other: Cohort): void {
    for (const member of other.members.splice(0)) {
      other.catchUp(member);
      member.moveTo(this);
    }
    other.dissolve();
  }

  /** Ends the cohort; members still in it go on by themselves. */
  dissolve(): void {
    if (this.#dissolved) return;
    this.#dissolved = true;
    this.#leaveAll(true);
    this.#subscription.close();
    this.queue.close();
    this.#chunks = [];
    this.#passAt = -1;
    this.#runs.clear();
    this.#count(-this.#chunkBytes);
    this.#registry.forget(this);
  }

  /** Every member, out of the cohort and on its own (`CohortMember.fallOut`). */
  #leaveAll(resubscribe: boolean): CohortMember[] {
    const members = [...this.members];
    for (const member of members) member.fallOut(resubscribe);
    return members;
  }

  #mark(): void {
    if (this.#marked || this.#dissolved) return;
    this.#marked = true;
    this.#seed.flush.markGroup(this);
  }
}

/**
 * The cohorts of this process, by the position they have written: a client whose queue is empty
 * and whose socket takes more joins the cohort in its state, or starts one.
 */
export class Cohorts {
  readonly #byState = new Map<PositionState, Cohort>();
  readonly #source: EventSource;

  constructor(source: EventSource) {
    this.#source = source;
  }

  get size(): number {
    return this.#byState.size;
  }

  /** Puts a client in step at `seed.queue`'s position in a cohort; false when the cohort there is not ready for it. */
  join(member: CohortMember, seed: CohortSeed): Cohort | undefined {
    const state = seed.queue.written;
    let cohort = this.#byState.get(state);
    if (cohort === undefined) {
      cohort = new Cohort(seed, this, this.#source);
      this.#byState.set(state, cohort);
    } else if (!cohort.at(state)) return undefined;
    cohort.add(member);
    return cohort;
  }

  /** `cohort` wrote a chunk from `from`: re-filed under its new position, merged with a cohort already there. */
  moved(cohort: Cohort, from: PositionState): void {
    if (this.#byState.get(from) === cohort) this.#byState.delete(from);
    const to = cohort.queue.written;
    cohort.key = to;
    const other = this.#byState.get(to);
    if (other === undefined) this.#byState.set(to, cohort);
    else if (other !== cohort && other.at(to) && cohort.at(to)) other.absorb(cohort);
  }

  forget(cohort: Cohort): void {
    if (this.#byState.get(cohort.key) === cohort) this.#byState.delete(cohort.key);
  }
}
