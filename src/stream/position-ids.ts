import { partitionKey, type StartPosition } from '../protocol/position.ts';

interface Slot {
  /** JSON text of this partition's element in the id array; undefined once it moved, until read. */
  element: string | undefined;
  /** `{"topic":"…","partition":N,` — the fixed start of this partition's element, encoded once. */
  prefix: string;
  /** The client resumed this partition by offset: keep answering in offsets. */
  offsets: boolean;
  /** Offset of the last consumed event. */
  lastOffset: number;
  lastTimestamp: number;
  /** Consecutive delivered events with `lastTimestamp` (see PartitionPosition.tsSeen). */
  tsSeen: number;
}

/**
 * The `id` of a connection: one element per assigned partition. A partition that has delivered
 * something carries `timestamp + 1` (valid across data centres) or, when the client resumed by
 * offset, the next offset; one that has not carries its concrete starting position, never `-1`.
 */
export class PositionIds {
  readonly #slots: Slot[] = [];
  readonly #byKey = new Map<string, Slot>();
  #cached: string | undefined;

  constructor(starts: readonly StartPosition[]) {
    for (const start of starts) {
      const requested = start.requested;
      const offsets = typeof requested === 'object' && 'offset' in requested && requested.offset !== undefined && requested.offset >= 0;
      // Resuming inside a millisecond: later events of that millisecond extend the client's count.
      const within = start.notice === undefined && typeof requested === 'object' && 'tsSeen' in requested && requested.tsSeen !== undefined && requested.timestamp !== undefined;
      const slot: Slot = {
        element: undeliveredElement(start),
        prefix: `{"topic":${JSON.stringify(start.topic)},"partition":${start.partition},`,
        offsets,
        lastOffset: -1,
        lastTimestamp: within ? (requested.timestamp ?? 0) - 1 : -1,
        tsSeen: within ? (requested.tsSeen ?? 0) : 0,
      };
      this.#slots.push(slot);
      this.#byKey.set(partitionKey(start.topic, start.partition), slot);
    }
  }

  /**
   * Records that the partition in slot `index` (the order of the starts) was consumed up to the
   * message at `offset`: sent, or deliberately skipped. `consumed` is how many messages that covers
   * (more than one when a client is offered only the events its filter matches), `run` how many
   * consecutive messages up to this one have its timestamp, as far as the reader knows.
   */
  advance(index: number, offset: number, timestamp: number, consumed = 1, run = consumed): void {
    const slot = this.#slots[index];
    if (slot === undefined) return;
    // The run reaching back over everything consumed since the last event continues the count.
    slot.tsSeen = timestamp === slot.lastTimestamp && run >= consumed ? slot.tsSeen + consumed : Math.min(run, consumed);
    slot.lastTimestamp = timestamp;
    slot.lastOffset = offset;
    slot.element = undefined;
    this.#cached = undefined;
  }

  /** Moves a partition to a new concrete offset (after its position was lost and re-resolved). */
  reset(start: StartPosition): void {
    const slot = this.#byKey.get(partitionKey(start.topic, start.partition));
    if (slot === undefined) return;
    slot.element = undeliveredElement(start);
    slot.lastTimestamp = -1;
    slot.tsSeen = 0;
    this.#cached = undefined;
  }

  toString(): string {
    if (this.#cached === undefined) {
      let text = '[';
      for (const slot of this.#slots) {
        // Built only when read: filtered clients consume many events between two reads. A template, not JSON.stringify.
        slot.element ??= slot.offsets
          ? `${slot.prefix}"offset":${slot.lastOffset + 1}}`
          : `${slot.prefix}"timestamp":${slot.lastTimestamp + 1},"ts_seen":${slot.tsSeen}}`;
        text += (text.length > 1 ? ',' : '') + slot.element;
      }
      this.#cached = `${text}]`;
    }
    return this.#cached;
  }
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
  return JSON.stringify({ topic, partition, offset: start.offset });
}
