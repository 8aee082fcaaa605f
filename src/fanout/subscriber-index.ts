import { indexKey, type IndexHint } from '../filter/compile.ts';
import { valuesAt } from '../filter/path.ts';
import type { PartitionCursor } from './cursor.ts';
import { eventObject, type PreparedEvent } from '../event/prepared-event.ts';

interface PathIndex {
  segments: readonly string[];
  byKey: Map<string, Set<PartitionCursor>>;
}

/**
 * A live feed's clients whose filters need one value of a field (`wiki=enwiki`): each event is
 * offered only to the clients listed under its value, so ten thousand clients filtering on ten
 * thousand wikis cost one lookup per event, not ten thousand tests. The others consume the event
 * without being touched: a client's id catches up with the feed's last event only when it is read
 * (`PartitionCursor.catchUp`, before a heartbeat), or when it is next offered an event.
 */
export class SubscriberIndex {
  readonly #paths = new Map<string, PathIndex>();
  readonly #cursors = new Set<PartitionCursor>();
  /** The last event the feed accepted: what every indexed client has consumed. */
  #last: PreparedEvent | undefined;
  readonly #lastEvent = (): PreparedEvent | undefined => this.#last;

  get size(): number {
    return this.#cursors.size;
  }

  [Symbol.iterator](): IterableIterator<PartitionCursor> {
    return this.#cursors.values();
  }

  add(cursor: PartitionCursor, hint: IndexHint): void {
    let path = this.#paths.get(hint.path);
    if (path === undefined) {
      path = { segments: hint.segments, byKey: new Map() };
      this.#paths.set(hint.path, path);
    }
    for (const key of hint.keys) {
      let cursors = path.byKey.get(key);
      if (cursors === undefined) {
        cursors = new Set();
        path.byKey.set(key, cursors);
      }
      cursors.add(cursor);
    }
    this.#cursors.add(cursor);
    cursor.consumedUpTo = this.#lastEvent;
  }

  delete(cursor: PartitionCursor): void {
    if (!this.#cursors.delete(cursor)) return;
    cursor.consumedUpTo = undefined;
    const hint = cursor.sink.index;
    const path = hint === undefined ? undefined : this.#paths.get(hint.path);
    if (hint === undefined || path === undefined) return;
    for (const key of hint.keys) {
      const cursors = path.byKey.get(key);
      cursors?.delete(cursor);
      if (cursors?.size === 0) path.byKey.delete(key);
    }
    if (path.byKey.size === 0) this.#paths.delete(hint.path);
  }

  /** Offers a batch to the clients its values select; the others consume it untouched. */
  offer(events: readonly PreparedEvent[]): void {
    const last = events[events.length - 1];
    if (last === undefined) return;
    if (this.#cursors.size === 0) {
      this.#last = last;
      return;
    }
    for (const event of events) {
      if (event.frame === undefined) continue;
      const object = eventObject(event);
      for (const path of this.#paths.values()) {
        for (const value of valuesAt(object, path.segments)) {
          const key = indexKey(value);
          const cursors = key === undefined ? undefined : path.byKey.get(key);
          if (cursors !== undefined) for (const cursor of cursors) cursor.offer(event);
        }
      }
    }
    this.#last = last;
  }

  /** The position was lost: every client catches up first, then moves with the feed. */
  forget(): void {
    for (const cursor of this.#cursors) cursor.catchUp();
    this.#last = undefined;
  }
}
