import type { StartPosition } from '../protocol/position.ts';

interface Slot {
  /** `{"topic":"…","partition":N,` — the fixed start of this partition's element, encoded once. */
  readonly prefix: string;
  /** The client resumed this partition by offset: keep answering in offsets. */
  readonly offsets: boolean;
  /** Offset of the last consumed event. */
  readonly lastOffset: number;
  readonly lastTimestamp: number;
  /** Consecutive delivered events with `lastTimestamp` (see PartitionPosition.tsSeen). */
  readonly tsSeen: number;
  /** JSON text of this partition's element in the id array, when fixed at the start; else built from the fields. */
  readonly element: string | undefined;
}

let serials = 0;

/** States kept findable per group: connections converge at the head of their group, where states are new. */
const INTERNED_PER_GROUP = 256;

/**
 * The newest states of one group of connections (same streams, filter and format), interned by
 * what they say: connections that started apart converge on one state as soon as their ids agree
 * (once each partition has delivered an event to both), so from then on they share the state, its
 * id text, its heads and the batches built between two states. Only the newest are kept, weakly:
 * a replay's states, which nobody else reaches, pass through without piling up.
 */
class StateFamily {
  readonly #states = new Map<string, WeakRef<PositionState>>();
  /** Connections of the group (`PositionStates.root` to `PositionIds.leave`): alone, nobody can share its states. */
  members = 0;

  get size(): number {
    return this.#states.size;
  }

  /** The family's state equal to `state`, which becomes it when there is none. */
  intern(state: PositionState): PositionState {
    const key = state.key;
    const held = this.#states.get(key)?.deref();
    if (held !== undefined) return held;
    // Re-inserted at the newest end; the oldest goes.
    this.#states.delete(key);
    this.#states.set(key, new WeakRef(state));
    state.interned = true;
    if (this.#states.size > INTERNED_PER_GROUP) this.#states.delete(this.#states.keys().next().value as string);
    return state;
  }
}

/**
 * The transition a state memoises: connections in step all take the same one. Its target is held
 * weakly, or a connection left behind in an old state would keep every later state alive. Apart
 * from the state, so that states of a connection alone in its group (never memoised) stay small.
 */
interface Transition {
  readonly slot: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly consumed: number;
  readonly run: number;
  state: WeakRef<PositionState>;
}

/**
 * One position of a connection's partitions, immutable. Connections in the same position that
 * consume the same event move to the same next state (the first one builds it, the others find
 * it memoised, or interned by their family), so connections in step share their states, their id
 * text and the heads built from it: per event, a connection only follows a pointer. States are
 * compared by identity (`serial`).
 */
export class PositionState {
  readonly serial = ++serials;
  /** Findable by its family: connections that reach an equal state elsewhere get this one. */
  interned = false;
  readonly #slots: readonly Slot[];
  readonly #family: StateFamily | undefined;
  #text: string | undefined;
  #head: string | undefined;
  /** The one transition taken from here so far, in a group of several (see `Transition`). */
  #next: Transition | undefined;

  constructor(slots: readonly Slot[], family?: StateFamily) {
    this.#slots = slots;
    this.#family = family;
  }

  /** What makes two states equal: the id, and which partitions answer in offsets (their future ids). */
  get key(): string {
    let offsets = '';
    for (const slot of this.#slots) offsets += slot.offsets ? '1' : '0';
    return `${offsets}${this.toString()}`;
  }

  /**
   * The state after consuming up to the message at `offset` in `slot` (see `PositionIds.advance`).
   * `shared`: other connections may reach the same state apart from this one (a live event), so it
   * is interned; a replay's states are not looked up (nobody else is where a replay is).
   */
  next(index: number, offset: number, timestamp: number, consumed: number, run: number, shared = true): PositionState {
    // Only states in a group of two or more come here (`PositionIds.advance`): there is a family.
    const family = this.#family!;
    const memo = this.#next;
    if (memo !== undefined && memo.slot === index && memo.offset === offset && memo.timestamp === timestamp && memo.consumed === consumed && memo.run === run) {
      const known = memo.state.deref();
      // Memoised by a replay (not interned): a live transition still looks it up.
      if (known !== undefined && (!shared || known.interned)) return known;
      if (known !== undefined) {
        const next = family.intern(known);
        memo.state = new WeakRef(next);
        return next;
      }
    }
    const slot = this.#slots[index];
    if (slot === undefined) return this;
    const slots = this.#slots.slice();
    slots[index] = advanced(slot, offset, timestamp, consumed, run);
    const built = new PositionState(slots, family);
    const next = shared ? family.intern(built) : built;
    this.#next = { slot: index, offset, timestamp, consumed, run, state: new WeakRef(next) };
    return next;
  }

  /**
   * Nobody else can reach this state's successors: the connection is alone in its group (or in
   * none, as in tests). They need neither memo nor interning (a WeakRef and an id text per event
   * and connection, the WeakRef's target kept alive until the turn ends), nor to exist before
   * they are read (see `PositionIds.advance`).
   */
  get alone(): boolean {
    return this.#family === undefined || this.#family.members < 2;
  }

  /** A copy of the slots, to advance in place (see `PositionIds.advance`). */
  draft(): Slot[] {
    return this.#slots.slice();
  }

  /** The state of a draft of this one's slots: same group. */
  from(draft: readonly Slot[]): PositionState {
    return new PositionState(draft, this.#family);
  }

  /** A state with one partition moved to a new concrete offset (its position was lost and re-resolved). */
  reset(start: StartPosition, index: number): PositionState {
    const slots = this.#slots.slice();
    slots[index] = startSlot(start);
    return new PositionState(slots, this.#family);
  }

  /** A connection of this state's group ended (`PositionIds.leave`). */
  leaveFamily(): void {
    if (this.#family !== undefined) this.#family.members--;
  }

  /** The EventStreams id: one element per partition. Built once per state, when first read. */
  toString(): string {
    if (this.#text === undefined) {
      let text = '[';
      for (const slot of this.#slots) {
        // A template, not JSON.stringify.
        const element =
          slot.element ?? (slot.offsets ? `${slot.prefix}"offset":${slot.lastOffset + 1}}` : `${slot.prefix}"timestamp":${slot.lastTimestamp + 1},"ts_seen":${slot.tsSeen}}`);
        text += (text.length > 1 ? ',' : '') + element;
      }
      this.#text = `${text}]`;
    }
    return this.#text;
  }

  /** `build(id)` once per state: the per-event head of the connections in this state. */
  head(build: (id: string) => string): string {
    this.#head ??= build(this.toString());
    return this.#head;
  }
}

/**
 * The states of connections, by group (same streams, filter and format): connections that start
 * alike share their states from the start, and connections that started apart share them once
 * their ids agree. Holds them weakly: a state lives as long as some connection is in it, and a
 * group's family as long as any of its states.
 */
export class PositionStates {
  // A family lives as long as a state of its group (each holds it), so as long as a connection.
  readonly #families = new Map<string, WeakRef<StateFamily>>();
  readonly #forget = new FinalizationRegistry<string>((group) => {
    if (this.#families.get(group)?.deref() === undefined) this.#families.delete(group);
  });

  root(group: string, starts: readonly StartPosition[]): PositionState {
    let family = this.#families.get(group)?.deref();
    if (family === undefined) {
      family = new StateFamily();
      this.#families.set(group, new WeakRef(family));
      this.#forget.register(family, group);
    }
    family.members++;
    return family.intern(new PositionState(starts.map(startSlot), family));
  }

  /** Groups with states alive, and their findable states (tests, metrics). */
  get size(): { groups: number; states: number } {
    let groups = 0;
    let states = 0;
    for (const held of this.#families.values()) {
      const family = held.deref();
      if (family === undefined) continue;
      groups++;
      states += family.size;
    }
    return { groups, states };
  }
}

/**
 * The `id` of a connection: one element per assigned partition. A partition that has delivered
 * something carries `timestamp + 1` (valid across data centres) or, when the client resumed by
 * offset, the next offset; one that has not carries its starting position, never `-1`: in time
 * when it started at a time or at the end (`StartPosition.after`), else its concrete offset.
 */
export class PositionIds {
  #state: PositionState;
  /** The slots advanced past `#state` by a connection alone in its group, not yet read as a state. */
  #draft: Slot[] | undefined;
  readonly #starts: readonly StartPosition[];
  #left = false;

  constructor(starts: readonly StartPosition[], root?: PositionState) {
    this.#state = root ?? new PositionState(starts.map(startSlot));
    this.#starts = starts;
  }

  /** The current state: shared with the connections in step with this one. */
  get state(): PositionState {
    if (this.#draft !== undefined) {
      this.#state = this.#state.from(this.#draft);
      this.#draft = undefined;
    }
    return this.#state;
  }

  /**
   * Records that the partition in slot `index` (the order of the starts) was consumed up to the
   * message at `offset`: sent, or deliberately skipped. `consumed` is how many messages that covers
   * (more than one when a client is offered only the events its filter matches), `run` how many
   * consecutive messages up to this one have its timestamp, as far as the reader knows.
   */
  advance(index: number, offset: number, timestamp: number, consumed = 1, run = consumed, shared = true): void {
    if (this.#state.alone) {
      // Most advances of a filtered connection are skips that nobody reads: they move a draft,
      // which becomes a state once the id is read (a delivered event, a flush, a heartbeat).
      const draft = (this.#draft ??= this.#state.draft());
      const slot = draft[index];
      if (slot !== undefined) draft[index] = advanced(slot, offset, timestamp, consumed, run);
      return;
    }
    this.#state = this.state.next(index, offset, timestamp, consumed, run, shared);
  }

  /** The connection ended: its group has one member fewer (once; a later call does nothing). */
  leave(): void {
    if (this.#left) return;
    this.#left = true;
    this.#state.leaveFamily();
  }

  /** Takes over the state of a connection in step with this one (same group, so the same partitions). */
  adopt(state: PositionState): void {
    this.#draft = undefined;
    this.#state = state;
  }

  /** Moves a partition to a new concrete offset (after its position was lost and re-resolved). */
  reset(start: StartPosition): void {
    // Rare (a lost position): a scan, rather than an index kept by every connection.
    const index = this.#starts.findIndex((s) => s.topic === start.topic && s.partition === start.partition);
    if (index >= 0) this.#state = this.state.reset(start, index);
  }

  toString(): string {
    return this.state.toString();
  }
}

/** `slot` after consuming up to the message at `offset` (see `PositionIds.advance`). */
function advanced(slot: Slot, offset: number, timestamp: number, consumed: number, run: number): Slot {
  // The run reaching back over everything consumed since the last event continues the count.
  const tsSeen = timestamp === slot.lastTimestamp && run >= consumed ? slot.tsSeen + consumed : Math.min(run, consumed);
  return { prefix: slot.prefix, offsets: slot.offsets, lastOffset: offset, lastTimestamp: timestamp, tsSeen, element: undefined };
}

function startSlot(start: StartPosition): Slot {
  const requested = start.requested;
  const offsets = typeof requested === 'object' && 'offset' in requested && requested.offset !== undefined && requested.offset >= 0;
  // Resuming inside a millisecond (or starting at the end after part of one): later events of that
  // millisecond extend the client's count.
  const within =
    start.notice === undefined && typeof requested === 'object' && 'tsSeen' in requested && requested.tsSeen !== undefined && requested.timestamp !== undefined
      ? { timestamp: requested.timestamp, tsSeen: requested.tsSeen }
      : start.after;
  return {
    element: undeliveredElement(start),
    prefix: `{"topic":${JSON.stringify(start.topic)},"partition":${start.partition},`,
    offsets,
    lastOffset: -1,
    lastTimestamp: within !== undefined ? within.timestamp - 1 : -1,
    tsSeen: within?.tsSeen ?? 0,
  };
}

function undeliveredElement(start: StartPosition): string {
  const { topic, partition, requested } = start;
  // A timestamp that resolved exactly stays a timestamp, so the id also works in the other data centre.
  if (start.notice === undefined && typeof requested === 'object') {
    if ('since' in requested) return JSON.stringify({ topic, partition, timestamp: requested.since });
    if (requested.offset === undefined && requested.timestamp !== undefined) {
      const element: Record<string, unknown> = { topic, partition, timestamp: requested.timestamp };
      if (requested.tsSeen !== undefined) element.ts_seen = requested.tsSeen;
      return JSON.stringify(element);
    }
  }
  // A start at the end, in time, so the id also works in the other data centre.
  if (start.after !== undefined) return JSON.stringify({ topic, partition, timestamp: start.after.timestamp, ts_seen: start.after.tsSeen });
  return JSON.stringify({ topic, partition, offset: start.offset });
}
