/**
 * The filter stage of a live stream in three designs, for bench/filter-stage.ts: the service's
 * shared feed with its subscriber index, the same feed with every client unindexed, and the
 * per-connection baseline that parses and filters each event once per client.
 */
import { PartitionCursor, type EventSink } from '../../src/fanout/cursor.ts';
import { PartitionFeed } from '../../src/fanout/partition-feed.ts';
import { eventJson, type PreparedEvent } from '../../src/event/prepared-event.ts';
import type { EventFilter, IndexHint } from '../../src/filter/compile.ts';
import type { StartPosition } from '../../src/protocol/position.ts';
import type { EventSelection } from '../../src/selection/event-selection.ts';
import { PositionIds, PositionStates, type PositionState } from '../../src/stream/position-ids.ts';

export const STAGE_TOPIC = 'eqiad.mediawiki.recentchange';
const START: StartPosition = { topic: STAGE_TOPIC, partition: 0, offset: 0, requested: { since: 0 } };
/** Small: the feed's cache is one per partition whatever the client count, not what is compared. */
const CACHE_BYTES = 1 << 20;

export interface FilterStage {
  /** Hands the stage consecutive batches of events, as the shared reader's fetches would. */
  feed(batches: readonly (readonly PreparedEvent[])[]): void;
  /** Events sent to clients so far (matched their filter). */
  readonly delivered: number;
}

function totalDelivered(clients: readonly { delivered: number }[]): number {
  let sum = 0;
  for (const client of clients) sum += client.delivered;
  return sum;
}

/**
 * A client as the feed sees it, minus the socket: what `StreamSession.receive`/`skip` do before
 * writing (advance the id, ask the shared selection for the frame), counting what would be sent.
 */
class CountingSink implements EventSink {
  readonly index: IndexHint | undefined;
  readonly ended = false;
  delivered = 0;
  readonly #ids: PositionIds;
  readonly #selection: EventSelection;

  readonly shareGroup: object;

  /** `root`: the start state of the client's group, as its queue in the service gets one. */
  constructor(selection: EventSelection, indexed: boolean, root: PositionState) {
    this.#ids = new PositionIds([START], root);
    this.#selection = selection;
    this.shareGroup = selection;
    this.index = indexed ? selection.index : undefined;
  }

  receive(slot: number, event: PreparedEvent, consumed: number): void {
    this.#ids.advance(slot, event.offset, event.timestamp, consumed, event.tsRun);
    if (typeof this.#selection.select(event) !== 'string') this.delivered++;
  }

  skip(slot: number, event: PreparedEvent, consumed: number): void {
    this.#ids.advance(slot, event.offset, event.timestamp, consumed, event.tsRun);
  }

  caughtUp(): void {}
  writable(): Promise<void> {
    return Promise.resolve();
  }

  positionLost(start: StartPosition): void {
    this.#ids.reset(start);
  }

  fail(): void {}
}

/** (a)/(b): one PartitionFeed with a live cursor per client; `indexed` false hides the index hints. */
export class SharedFeedStage implements FilterStage {
  readonly #feed = new PartitionFeed(STAGE_TOPIC, 0, 0, CACHE_BYTES);
  readonly #sinks: CountingSink[];

  constructor(selections: readonly EventSelection[], indexed: boolean) {
    // One group per distinct selection, as the service's share keys make them.
    const positions = new PositionStates();
    const groups = new Map<EventSelection, string>();
    this.#sinks = selections.map((selection) => {
      const group = groups.get(selection) ?? String(groups.size);
      groups.set(selection, group);
      return new CountingSink(selection, indexed, positions.root(group, [START]));
    });
    for (const sink of this.#sinks) {
      if (this.#feed.replay(new PartitionCursor(sink, 0, STAGE_TOPIC, 0, 0), Infinity) !== 'live') throw new Error('cursor did not go live');
    }
  }

  feed(batches: readonly (readonly PreparedEvent[])[]): void {
    for (const batch of batches) {
      const last = batch[batch.length - 1];
      if (last !== undefined) this.#feed.accept(batch, last.offset + 1, undefined);
    }
  }

  get delivered(): number {
    return totalDelivered(this.#sinks);
  }
}

interface NaiveClient {
  filter: EventFilter;
  ids: PositionIds;
  delivered: number;
}

/** (c): what a server with a reader per connection does: every client decodes and tests every event. */
export class PerClientParseStage implements FilterStage {
  readonly #clients: NaiveClient[];

  constructor(filters: readonly EventFilter[]) {
    this.#clients = filters.map((filter) => ({ filter, ids: new PositionIds([START]), delivered: 0 }));
  }

  feed(batches: readonly (readonly PreparedEvent[])[]): void {
    for (const batch of batches) {
      for (const event of batch) {
        for (const client of this.#clients) {
          const json = eventJson(event);
          if (json === undefined) continue;
          client.ids.advance(0, event.offset, event.timestamp);
          if (client.filter.matches(JSON.parse(json) as Record<string, unknown>)) client.delivered++;
        }
      }
    }
  }

  get delivered(): number {
    return totalDelivered(this.#clients);
  }
}
