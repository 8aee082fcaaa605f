import type { LoadGuard, Sheddable } from '../admission/load-guard.ts';
import { SharedChunk } from '../compress/shared-chunk.ts';
import type { PreparedEvent } from '../event/prepared-event.ts';
import type { StartPosition } from '../protocol/position.ts';
import type { FlushQueue } from './flush-queue.ts';
import type { Framing } from './framing.ts';
import { PositionIds, type PositionState, type PositionStates } from './position-ids.ts';

/** Queued bytes that are written at once instead of waiting for the end of the fan-out turn. */
export const WRITE_CHUNK = 16 * 1024;
/**
 * Clients queueing more than this are behind: what they queue beyond it counts against the
 * process-wide budget, and they are candidates for shedding when the process is over it. Below it
 * a queue holds the events of the current flush, references to frames shared with every client
 * in step (counting them per client would count one event ten thousand times at 10,000 clients).
 */
export const LAGGING_BYTES = 64 * 1024;

/** Why a client is disconnected while the server still serves: it fell behind, or the process sheds load. */
export type EvictReason = 'slow_client' | 'overloaded';

/** Runs `run` after `ms` unless the returned function cancels it first. */
export type Schedule = (ms: number, run: () => void) => () => void;

/** Node's timers, not keeping the process alive. */
export const unrefTimer: Schedule = (ms, run) => {
  const timer = setTimeout(run, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

/** The socket as the queue sees it (`SocketWriter`). */
export interface Outlet {
  /** Bytes handed to the socket that it has not sent yet. */
  readonly buffered: number;
  /** At least `buffered`, and cheap to read (checked per event). */
  readonly bufferedAtMost: number;
  /** Makes the owner flush and `release` again on the socket's next drain. */
  awaitDrain(): void;
}

export interface ClientQueueOptions {
  starts: readonly StartPosition[];
  framing: Framing;
  /** Backlog (queued plus unsent) past which a client that does not keep up is evicted. */
  backlogBytes: number;
  /** How long a reader waits for room (`writable`) before the client is evicted as stalled; 0 = forever. */
  stallMs: number;
  /** Queues with the same key (same streams, filter and format) in the same position state share their batches. */
  shareKey: string;
  /** Where queues of one share key that start alike get their (shared) first position state. */
  positions: PositionStates;
  batches: Pick<FlushQueue, 'shared' | 'share'>;
  /** The process-wide account of queued bytes. */
  guard: Pick<LoadGuard, 'queued' | 'queuing' | 'overBudget' | 'enforce' | 'replaysMayQueue'>;
  /** Disconnects the client; the queue decides when, its owner does it. */
  evict(reason: EvictReason): void;
  /** The stall timer's clock: Node's timers unless a test runs them by hand. */
  schedule?: Schedule;
}

/**
 * What one client is owed and has not yet been handed: its id (`PositionIds`), the blocks queued
 * since the last write, their bytes against the client's and the process's budgets, and the readers
 * waiting for it to have room. It decides when the client must go; it touches no socket.
 */
export class ClientQueue implements Sheddable {
  readonly #options: ClientQueueOptions;
  readonly #outlet: Outlet;
  readonly #ids: PositionIds;
  readonly #schedule: Schedule;
  /** Per-client id lines (strings) and shared event frames, in order. */
  readonly #pending: (string | Buffer)[] = [];
  #pendingBytes = 0;
  /** Of `#pendingBytes`, what counts against the process-wide budget: what lies beyond `LAGGING_BYTES`. */
  #countedBytes = 0;
  #pendingEvents = 0;
  /** Of `#pendingEvents`, how many per slot (events sent are counted per topic); a plain array, as a typed array of a few slots costs ~220 bytes a client. */
  readonly #pendingBySlot: number[];
  /** The position in the last queued block, when the format carries ids: what the client has once it read all. */
  #queued: PositionState | undefined;
  /** The position after the last block handed to the socket. */
  #written: PositionState;
  /** Whether the client has been handed any id (a message, notice or id-only block). */
  #idHanded = false;
  #waiters: (() => void)[] = [];
  /** Set while readers wait for room: evicts the client if it does not make room in time. */
  #cancelStall: (() => void) | undefined;
  #closed = false;

  constructor(options: ClientQueueOptions, outlet: Outlet) {
    this.#options = options;
    this.#outlet = outlet;
    this.#schedule = options.schedule ?? unrefTimer;
    this.#ids = new PositionIds(options.starts, options.positions.root(options.shareKey, options.starts));
    this.#pendingBySlot = Array.from({ length: options.starts.length }, () => 0);
    this.#written = this.#ids.state;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Where this client would resume if it reconnected now (after what is queued). */
  get id(): string {
    return this.#ids.toString();
  }

  /** The id the client has once it read everything handed to the socket. */
  get writtenId(): string {
    return this.#written.toString();
  }

  get queuedBytes(): number {
    return this.#pendingBytes;
  }

  get empty(): boolean {
    return this.#pendingBytes === 0;
  }

  /** Everything the client has not read yet: queued here, or in the socket's buffer. */
  get backlog(): number {
    return this.#pendingBytes + this.#outlet.buffered;
  }

  /** The client consumed `event` in slot `slot`, whether or not it is sent it (`PositionIds.advance`). */
  advance(slot: number, event: PreparedEvent, consumed: number): void {
    // Events of a live feed carry its `seq`: connections following it may converge on one state.
    this.#ids.advance(slot, event.offset, event.timestamp, consumed, event.tsRun, event.seq !== undefined);
  }

  /** A partition moved to a new position after its old one was lost. */
  reset(start: StartPosition): void {
    this.#ids.reset(start);
  }

  /** Queues an event's frame; true when enough is queued to write it at once. */
  push(slot: number, frame: Buffer): boolean {
    const head = this.#options.framing.messageHead;
    if (head !== undefined) {
      // Built once per position state, for every client in it.
      this.#queued = this.#ids.state;
      this.#add(this.#queued.head(head));
    }
    this.#add(this.#options.framing.messageBody(frame));
    this.#pendingEvents++;
    this.#pendingBySlot[slot]!++;
    return this.#pendingBytes >= WRITE_CHUNK;
  }

  /** Queues a notice; false when the format has no room for one. */
  pushNotice(json: string): boolean {
    const block = this.#options.framing.notice(this.#ids.toString(), json);
    if (block === undefined) return false;
    this.#queued = this.#ids.state;
    this.#add(Buffer.from(block));
    return true;
  }

  /**
   * After an event was queued (and anything it made the owner write): a client whose backlog
   * outgrew its budget is evicted, and past the process-wide budget the longest queues go first.
   * False when this client is gone.
   */
  keepWithinBudget(): boolean {
    const limit = this.#options.backlogBytes;
    if (this.#pendingBytes + this.#outlet.bufferedAtMost > limit && this.backlog > limit) {
      this.#options.evict('slow_client');
      return false;
    }
    if (this.#options.guard.overBudget()) this.#options.guard.enforce();
    return !this.#closed;
  }

  /**
   * Everything queued, as one chunk for the socket, and forgets it; `sent` is told how many events
   * of each slot that is. Queues of one share key in the same position state get the same chunk.
   */
  take(sent: (slot: number, events: number) => void): SharedChunk {
    const end = this.#queued ?? this.#ids.state;
    const written = this.#written;
    const pending = this.#pending;
    const events = this.#pendingEvents;
    // States are shared only within a share key, and the path between two states is one sequence
    // of events: same two states, same bytes, whichever client asks first builds them.
    let batch = this.#options.batches.shared(written, end, events, pending.length);
    if (batch === undefined) {
      batch = new SharedChunk(encodeBatch(pending, this.#pendingBytes), written, end);
      this.#options.batches.share(batch, events, pending.length);
    }
    if (this.#queued !== undefined) this.#idHanded = true;
    this.#written = end;
    const bySlot = this.#pendingBySlot;
    for (let slot = 0; slot < bySlot.length; slot++) if (bySlot[slot]! > 0) sent(slot, bySlot[slot]!);
    this.drop();
    return batch;
  }

  /**
   * An id-only block when events skipped since the last one written (filter, canaries) moved the
   * id, so the client resumes from here instead of rescanning them; the caller writes it at once.
   */
  takePosition(): string | undefined {
    const state = this.#ids.state;
    if (state === this.#written || state.toString() === this.#written.toString()) return undefined;
    const block = this.#options.framing.position(state.toString());
    if (block !== undefined) {
      this.#written = state;
      this.#idHanded = true;
    }
    return block;
  }

  /**
   * An id-only block when the client has not been handed any id yet: a stream that ends before its
   * first event still tells the client where it started, or it would reconnect at the new end of
   * the topics and miss what was produced meanwhile.
   */
  takeFirstPosition(): string | undefined {
    if (this.#idHanded) return this.takePosition();
    const block = this.#options.framing.position(this.#ids.toString());
    if (block !== undefined) {
      this.#written = this.#ids.state;
      this.#idHanded = true;
    }
    return block;
  }

  /** The position after the last block handed to the socket (shared by the queues in step with this one). */
  get written(): PositionState {
    return this.#written;
  }

  /** The position after everything queued and skipped. */
  get state(): PositionState {
    return this.#ids.state;
  }

  /**
   * Takes over the position and the queued blocks of a queue of the same group that this client
   * was in step with (its cohort's): it goes on exactly where that one is. `handed`: the client
   * was handed an id meanwhile.
   */
  follow(other: ClientQueue, handed: boolean): void {
    this.drop();
    this.#ids.adopt(other.#ids.state);
    this.#written = other.#written;
    this.#queued = other.#queued;
    if (handed) this.#idHanded = true;
    for (const part of other.#pending) this.#add(part);
    this.#pendingEvents = other.#pendingEvents;
    for (let slot = 0; slot < other.#pendingBySlot.length; slot++) this.#pendingBySlot[slot] = other.#pendingBySlot[slot]!;
  }

  /** Forgets what is queued (written, or dropped with the client). */
  drop(): void {
    const guard = this.#options.guard;
    if (this.#pendingBytes > LAGGING_BYTES) guard.queuing(this, false);
    if (this.#countedBytes > 0) guard.queued(-this.#countedBytes);
    this.#countedBytes = 0;
    // Reused: a batch is built from it before it is emptied.
    this.#pending.length = 0;
    this.#pendingBytes = 0;
    this.#pendingEvents = 0;
    this.#pendingBySlot.fill(0);
    this.#queued = undefined;
  }

  /** The stream ended: nothing more is queued, and waiting readers go on. */
  close(): void {
    this.drop();
    this.#closed = true;
    this.#ids.leave();
    this.release();
  }

  /** The process is over its budget and this queue is among the longest. */
  shed(): void {
    this.#options.evict('overloaded');
  }

  /** Whether the client takes more now: what `writable` waits for. */
  get hasRoom(): boolean {
    return this.#closed || this.backlog < this.#room();
  }

  /**
   * The backlog below which readers go on: a quarter of the client's budget, or while the process
   * is short of room only what counts against no budget (`LAGGING_BYTES`), so replays then move
   * at the pace of the sockets instead of piling up in memory.
   */
  #room(): number {
    const own = this.#options.backlogBytes / 4;
    return this.#options.guard.replaysMayQueue() ? own : Math.min(own, LAGGING_BYTES);
  }

  /** Resolves when the client has room (backpressure for catch-up reads and cache replays). */
  writable(): Promise<void> {
    if (this.hasRoom) return Promise.resolve();
    this.#outlet.awaitDrain();
    // Without this, a client that stopped reading would never be evicted (a paced reader queues
    // nothing more for it) and would hold up every client sharing its catch-up reader.
    if (this.#cancelStall === undefined && this.#options.stallMs > 0) {
      this.#cancelStall = this.#schedule(this.#options.stallMs, () => {
        this.#cancelStall = undefined;
        if (!this.#closed && this.#waiters.length > 0) this.#options.evict('slow_client');
      });
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Wakes the readers waiting for room once there is some (after a write or a drain). */
  release(): void {
    if (this.#waiters.length === 0) return;
    if (!this.hasRoom) {
      this.#outlet.awaitDrain();
      return;
    }
    const waiters = this.#waiters;
    this.#waiters = [];
    this.#cancelStall?.();
    this.#cancelStall = undefined;
    for (const resolve of waiters) resolve();
  }

  #add(chunk: string | Buffer): void {
    this.#pending.push(chunk);
    // Queued strings are id lines: ASCII, one byte per character.
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes <= LAGGING_BYTES) return;
    const guard = this.#options.guard;
    const counted = this.#pendingBytes - LAGGING_BYTES;
    guard.queued(counted - this.#countedBytes);
    if (this.#countedBytes === 0) guard.queuing(this, true);
    this.#countedBytes = counted;
  }
}

/** One buffer from id lines (ASCII, so latin1 is exact and cheapest) and shared frames. */
function encodeBatch(parts: readonly (string | Buffer)[], bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const part of parts) at += typeof part === 'string' ? out.write(part, at, 'latin1') : part.copy(out, at);
  return out;
}
