import type { FastifyBaseLogger } from 'fastify';
import { PartitionCursor, type EventSink } from '../fanout/cursor.ts';
import type { EventSource, Subscription } from '../fanout/source.ts';
import type { PreparedEvent } from '../event/prepared-event.ts';
import type { DroppedPosition } from '../kafka/start-positions.ts';
import type { StartPosition } from '../protocol/position.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { FlushQueue } from './flush-queue.ts';
import type { IndexHint } from '../filter/compile.ts';
import type { EventSelection } from '../selection/event-selection.ts';
import type { LoadGuard, Sheddable } from '../admission/load-guard.ts';
import type { BodyEncoder } from '../compress/encoder.ts';
import type { SharedChunk } from '../compress/shared-chunk.ts';
import { ClientQueue, LAGGING_BYTES, type EvictReason, type Schedule } from './client-queue.ts';
import type { JoinedRuns } from './joined-runs.ts';
import type { Cohort, CohortMember, Cohorts } from './cohort.ts';
import type { Framing } from './framing.ts';
import { positionNotice } from './notice.ts';
import type { PositionStates } from './position-ids.ts';
import { ReplayOrder, type HeldItem } from './replay-order.ts';
import { SocketWriter, type StreamResponse } from './socket-writer.ts';

export interface SessionOptions {
  /** The connection's format (`framingFor`). */
  framing: Framing;
  /** The connection's content coding (`Compression.encoder`). */
  encoder: BodyEncoder;
  starts: readonly StartPosition[];
  dropped: readonly DroppedPosition[];
  /** Which events this client is sent, and in what shape (canaries, filter, projection). */
  selection: EventSelection;
  /** Counts the events its filter kept from `clients` clients (this one, or its cohort), per stream of the event's topic. */
  countFiltered: (topic: string, clients?: number) => void;
  /** Queued bytes past which a client that does not keep up is disconnected. */
  backlogBytes: number;
  /**
   * How long a reader waiting for this client to have room (`writable`) waits before the client is
   * disconnected as too slow (it stopped reading, and would hold up a shared catch-up reader); 0 = forever.
   */
  stallMs: number;
  /**
   * Bytes of events held per partition to replay several partitions in time order
   * (`fanout.replay_lookahead_bytes`); 0 or one partition: each partition's events as they come.
   * Only for a source that paces each partition and says when it caught up (`EventSource.ordersReplay`).
   */
  replayLookaheadBytes?: number;
  /** How long a partition's reader waits for a partition behind that delivers nothing (`fanout.replay_order_wait_ms`). */
  replayOrderWaitMs?: number;
  /** Timers of the replay order: Node's unless a test runs them by hand. */
  schedule?: Schedule;
  heartbeatIntervalMs: number;
  /**
   * Sessions with the same key (same streams and format) that are in the same position state get
   * byte-identical batches, built once per event-loop turn.
   */
  shareKey: string;
  /** The shared position states of connections (`PositionStates`). */
  positions: PositionStates;
  /** When the server ends this stream with reconnection advice (epoch ms); undefined = never. */
  deadline?: number;
  reconnectDelayMs: number;
  flush: FlushQueue;
  /** Where clients in step are served as one (`fanout.cohorts`); undefined: each by itself. */
  cohorts?: Cohorts;
  guard: LoadGuard;
  metrics: Metrics;
  log: FastifyBaseLogger;
}

export interface SessionStats {
  eventsSent: number;
  bytesSent: number;
}

/** Why the server ended a stream. */
export type EndReason = 'client_closed' | EvictReason | 'max_duration' | 'shutdown' | 'error';

const SLOW_CLIENT_MESSAGE = 'The client did not read events as fast as they arrived; reconnect with Last-Event-ID to resume';

/**
 * One client's stream: its cursors (one per partition) feed its queue, which is written to its
 * socket once per event-loop turn in its framing. A client whose queue outgrows its budget is told
 * so with an `event: error` and disconnected (it resumes with its id) instead of growing memory.
 */
export class StreamSession implements EventSink, CohortMember, Sheddable {
  readonly cursors: PartitionCursor[];
  cohortIndex = -1;
  cohortNext = 0;
  readonly #options: SessionOptions;
  readonly #framing: Framing;
  readonly #writer: SocketWriter;
  readonly #queue: ClientQueue;
  /** While the connection replays several partitions: their events merged by time; then undefined. */
  #order: ReplayOrder | undefined;
  #eventsSent = 0;
  /** Marked in the flush queue for this turn (a Set insert per event is a hash per client per event). */
  #marked = false;
  #source: EventSource | undefined;
  /** Its cursors on the source's feeds; undefined while it is in a cohort (the cohort's cursors follow them). */
  #subscription: Subscription | undefined;
  #cohort: Cohort | undefined;
  /** The cohort's `eventsSent` when this client joined it. */
  #sentAtJoin = 0;
  /** While in a cohort: what its socket holds beyond `LAGGING_BYTES`, counted against the process-wide budget. */
  #socketCounted = 0;
  #endReason: EndReason = 'client_closed';
  readonly #countSent = (slot: number, events: number): void => {
    this.#eventsSent += events;
    this.#options.metrics.countSent(this.cursors[slot]!.topic, events);
  };

  constructor(res: StreamResponse, options: SessionOptions) {
    this.#options = options;
    this.#framing = options.framing;
    this.#writer = new SocketWriter(res, options.encoder, {
      drained: () => {
        this.flush();
        this.#queue.release();
      },
      closed: () => this.#stop('client_closed'),
      countBytes: (bytes) => options.metrics.bytesSent.inc(bytes),
    });
    this.#queue = new ClientQueue(
      {
        starts: options.starts,
        framing: options.framing,
        backlogBytes: options.backlogBytes,
        stallMs: options.stallMs,
        shareKey: options.shareKey,
        positions: options.positions,
        batches: options.flush,
        guard: options.guard,
        evict: (reason) => this.#evict(reason),
      },
      this.#writer,
    );
    this.cursors = options.starts.map((s, slot) => new PartitionCursor(this, slot, s.topic, s.partition, s.offset));
    const lookaheadBytes = options.replayLookaheadBytes ?? 0;
    if (lookaheadBytes > 0 && options.starts.length > 1) {
      const queue = this.#queue;
      this.#order = new ReplayOrder({
        slots: options.starts.length,
        lookaheadBytes,
        waitMs: options.replayOrderWaitMs ?? 0,
        apply: (slot, item) => this.#apply(slot, item),
        hasRoom: () => queue.hasRoom && !queue.closed,
        roomLater: () => queue.writable(),
        gaveUp: () => options.metrics.replayOrderGivenUp.inc(),
        ...(options.schedule ? { schedule: options.schedule } : {}),
      });
    }
  }

  get index(): IndexHint | undefined {
    return this.#options.selection.index;
  }

  get shareGroup(): object {
    return this.#options.selection;
  }

  get ended(): boolean {
    return this.#queue.closed;
  }

  get endReason(): EndReason {
    return this.#endReason;
  }

  get stats(): SessionStats {
    const inCohort = this.#cohort === undefined ? 0 : this.#cohort.eventsSent - this.#sentAtJoin;
    return { eventsSent: this.#eventsSent + inCohort, bytesSent: this.#writer.bytesWritten };
  }

  /** Where this client would resume if it reconnected now (after what is queued). */
  get id(): string {
    return (this.#cohort?.queue ?? this.#queue).id;
  }

  /** Starts following its partitions from `source` (`ends`: their high watermarks when the starts were resolved). */
  follow(source: EventSource, ends: ReadonlyMap<string, number>): void {
    this.#source = source;
    this.#subscription = source.subscribe(this.cursors, ends);
    // A client that starts live joins its cohort at once: served alone until its first event, the
    // clients that connected while a stream was quiet would all be served alone at that event.
    this.#joinCohort();
  }

  /** Stops following them (the connection closed). */
  unfollow(): void {
    this.#subscription?.close();
    this.#subscription = undefined;
  }

  /**
   * Before each chunk of its cohort: a member whose connection is gone stops, and one whose socket
   * holds its whole budget is disconnected as too slow, as it would be alone. Below that it stays:
   * its socket holds chunks shared with the other members, not copies.
   */
  keepUp(): void {
    if (this.#gone()) return;
    const buffered = this.#writer.holding(LAGGING_BYTES);
    if (buffered >= this.#options.backlogBytes) {
      this.fallOut(false);
      this.#evict('slow_client');
      return;
    }
    // A member that stopped reading holds the chunks written since: they count like a queue's.
    this.#countSocket(buffered > LAGGING_BYTES ? buffered - LAGGING_BYTES : 0);
  }

  /** What the process-wide budget counts of this member (`Sheddable`). */
  get queuedBytes(): number {
    return this.#socketCounted;
  }

  /** The process is over its budget and this member's socket holds among the most. */
  shed(): void {
    this.fallOut(false);
    this.#evict('overloaded');
  }

  #countSocket(bytes: number): void {
    const guard = this.#options.guard;
    if (bytes === this.#socketCounted) return;
    guard.queued(bytes - this.#socketCounted);
    if (this.#socketCounted === 0) guard.queuing(this, true);
    else if (bytes === 0) guard.queuing(this, false);
    this.#socketCounted = bytes;
  }

  /** Chunks of its cohort's. */
  writeRun(chunks: readonly SharedChunk[], from: number, start: number, runs: JoinedRuns): void {
    this.#writer.writeRun(chunks, from, start, runs);
  }

  fallOut(resubscribe: boolean): void {
    const cohort = this.#cohort;
    if (cohort === undefined) return;
    cohort.catchUp(this);
    // Copied before leaving: the last member out ends the cohort, and its queue with it.
    this.#eventsSent += cohort.eventsSent - this.#sentAtJoin;
    this.#queue.follow(cohort.queue, this.#eventsSent > 0);
    for (let slot = 0; slot < this.cursors.length; slot++) {
      const from = cohort.cursors[slot]!;
      const cursor = this.cursors[slot]!;
      cursor.next = from.next;
      cursor.lastSeq = from.lastSeq;
    }
    this.#cohort = undefined;
    this.#countSocket(0);
    cohort.remove(this);
    // Ended (or ending: its connection's close unsubscribes whatever it follows then), it follows nothing more.
    if (resubscribe && !this.ended) this.#subscription = this.#source!.subscribe(this.cursors, new Map());
    if (!this.#queue.empty) this.#mark();
  }

  moveTo(cohort: Cohort): void {
    this.#eventsSent += this.#cohort!.eventsSent - this.#sentAtJoin;
    this.#cohort = cohort;
    this.#sentAtJoin = cohort.eventsSent;
    cohort.add(this);
  }

  open(): void {
    this.#write(this.#framing.opening);
    const notice = positionNotice(this.#options.starts, this.#options.dropped);
    if (notice !== undefined) this.#writeBlock(this.#framing.notice(this.id, notice));
  }

  receive(slot: number, event: PreparedEvent, consumed: number): void {
    if (this.#order === undefined) this.#receive(slot, event, consumed);
    else this.#hold(slot, { kind: 'receive', event, consumed });
  }

  skip(slot: number, event: PreparedEvent, consumed: number): void {
    if (this.#order === undefined) this.#queue.advance(slot, event, consumed);
    else this.#hold(slot, { kind: 'skip', event, consumed });
  }

  caughtUp(slot: number): void {
    const order = this.#order;
    if (order === undefined) return;
    order.caughtUp(slot);
    this.#orderDone(order);
  }

  /** Waits for room for more of the partition in `slot`: in its time order, then in the client's queue. */
  writable(slot: number): Promise<void> {
    const room = this.#order?.room(slot);
    return room === undefined ? this.#queue.writable() : room.then(() => this.#queue.writable());
  }

  #hold(slot: number, item: HeldItem): void {
    const order = this.#order!;
    order.add(slot, item);
    this.#orderDone(order);
  }

  /** Every partition caught up and nothing is held: events go straight to the queue from here. */
  #orderDone(order: ReplayOrder): void {
    if (!order.done) return;
    order.close();
    this.#order = undefined;
  }

  #apply(slot: number, item: HeldItem): void {
    // Applying one item can end the stream (an eviction) while the merge hands out the next.
    if (this.ended) return;
    if (item.kind === 'lost') this.#reset(item.start);
    else if (item.kind === 'receive') this.#receive(slot, item.event, item.consumed);
    else this.#queue.advance(slot, item.event, item.consumed);
  }

  #receive(slot: number, event: PreparedEvent, consumed: number): void {
    this.#queue.advance(slot, event, consumed);
    const frame = this.#options.selection.select(event);
    if (typeof frame === 'string') {
      if (frame === 'filtered') this.#options.countFiltered(event.topic);
      return;
    }
    // A large fetch must not count against a client that reads fine: write as soon as a chunk is
    // ready, so only a congested socket makes the backlog grow.
    if (this.#queue.push(slot, frame)) this.#writeQueued();
    if (this.#queue.keepWithinBudget()) this.#mark();
  }

  #mark(): void {
    if (this.#marked) return;
    this.#marked = true;
    this.#options.flush.mark(this);
  }

  /**
   * Writes what is queued (unless the socket is still full: then on its next drain), and joins
   * the cohort of its state once it is in step: from then on the cohort follows its partitions.
   */
  flush(): void {
    this.#marked = false;
    this.#writeQueued();
    this.#joinCohort();
  }

  #joinCohort(): void {
    if (this.#options.cohorts !== undefined) this.#join(this.#options.cohorts);
  }

  #join(cohorts: Cohorts): void {
    if (this.#cohort !== undefined || this.#order !== undefined || this.ended || this.#options.selection.index !== undefined) return;
    const queue = this.#queue;
    if (!queue.empty || queue.written !== queue.state) return;
    for (const cursor of this.cursors) if (!cursor.live) return;
    if (this.#writer.gone || this.#writer.full) return;
    const options = this.#options;
    const cohort = cohorts.join(this, {
      starts: options.starts,
      framing: options.framing,
      selection: options.selection,
      countFiltered: options.countFiltered,
      shareKey: options.shareKey,
      positions: options.positions,
      backlogBytes: options.backlogBytes,
      flush: options.flush,
      guard: options.guard,
      metrics: options.metrics,
      queue,
      cursors: this.cursors,
    });
    if (cohort === undefined) return;
    this.#cohort = cohort;
    this.#sentAtJoin = cohort.eventsSent;
    this.unfollow();
  }

  #writeQueued(): void {
    if (this.ended || this.#queue.empty) return;
    if (this.#writer.full) {
      this.#writer.awaitDrain();
      return;
    }
    if (this.#gone()) return;
    this.#writer.writeShared(this.#queue.take(this.#countSent));
    this.#queue.release();
  }

  /** A partition moved because its position was lost while reading. */
  positionLost(start: StartPosition): void {
    if (this.ended) return;
    const order = this.#order;
    // Rare (a lost position): a scan, rather than an index kept by every connection.
    const slot = order === undefined ? -1 : this.cursors.findIndex((c) => c.topic === start.topic && c.partition === start.partition);
    if (order === undefined || !order.lost(slot, start)) this.#reset(start);
    else this.#orderDone(order);
  }

  #reset(start: StartPosition): void {
    if (this.ended) return;
    this.#queue.reset(start);
    const notice = positionNotice([start], []);
    if (notice !== undefined && this.#queue.pushNotice(notice)) this.#mark();
  }

  /** Heartbeat on silence; ends the stream at its deadline. Called by the registry's ticker. */
  tick(now: number): void {
    if (this.ended) return;
    if (this.#options.deadline !== undefined && now >= this.#options.deadline) {
      this.close(this.#options.reconnectDelayMs, 'max_duration');
      return;
    }
    const interval = this.#options.heartbeatIntervalMs;
    if (interval <= 0 || now - this.#writer.lastWriteAt < interval) return;
    // A cohort hands its members events only: a quiet one goes on by itself, for its heartbeat and id.
    this.fallOut(true);
    if (this.#queue.empty) {
      for (const cursor of this.cursors) cursor.catchUp();
      this.#write(this.#queue.takePosition() ?? this.#framing.heartbeat);
    }
    // Back in step at once: a heartbeat moves no position.
    this.#joinCohort();
  }

  /** Ends the stream with an `event: error` the client can see; it resumes with its id. */
  fail(name: string, message: string, reason: EndReason = 'error'): void {
    if (this.ended) return;
    this.fallOut(false);
    this.#writeQueued();
    this.#writeBlock(this.#framing.error(this.#queue.writtenId, name, message));
    this.#finish(reason);
  }

  /** Ends the stream cleanly, advising when to reconnect (shutdown, maximum duration). */
  close(retryMs: number, reason: EndReason = 'shutdown'): void {
    if (this.ended) return;
    this.fallOut(false);
    this.#writeQueued();
    this.#writeBlock(this.#queue.takeFirstPosition());
    this.#writeBlock(this.#framing.retry(retryMs + Math.random() * retryMs));
    this.#finish(reason);
  }

  #evict(reason: EvictReason): void {
    this.#options.log.warn({ backlogBytes: this.#queue.backlog, reason }, 'client too slow: disconnecting it');
    // Queued events are dropped; the error carries the id of the last event handed to the socket.
    this.#queue.drop();
    this.#writeBlock(this.#framing.error(this.#queue.writtenId, 'SlowClient', SLOW_CLIENT_MESSAGE));
    this.#stop(reason);
    this.#writer.evict();
  }

  /** The client may be gone before its 'close' event arrives: then the stream stops here. */
  #gone(): boolean {
    if (!this.#writer.gone) return false;
    this.#stop('client_closed');
    return true;
  }

  #write(chunk: string | Buffer): void {
    if (!this.#gone()) this.#writer.write(chunk);
  }

  /** A block the format may have no room for. */
  #writeBlock(block: string | undefined): void {
    if (block !== undefined) this.#write(block);
  }

  #finish(reason: EndReason): void {
    this.#stop(reason);
    this.#writer.end();
  }

  #stop(reason: EndReason): void {
    if (this.#queue.closed) return;
    this.fallOut(false);
    this.#endReason = reason;
    if (reason !== 'client_closed') this.#options.metrics.disconnects.inc({ reason });
    this.#queue.close();
    this.#order?.close();
    this.#order = undefined;
  }
}
