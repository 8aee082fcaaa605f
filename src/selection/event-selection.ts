import { eventObject, type PreparedEvent } from '../event/prepared-event.ts';
import type { EventFilter, IndexHint } from '../filter/compile.ts';
import type { Projection } from '../filter/project.ts';
import type { Sanitizer } from '../sanitize/sanitizer.ts';
import { dataLine } from '../event/frame.ts';

/** Why a client is not sent an event it consumed. */
export type Skipped = 'unservable' | 'canary' | 'filtered';

/**
 * What one kind of client receives: which events (canaries, filter) and in what shape
 * (projection). Shared by every connection with the same streams, filter and projection, so each
 * event is tested and re-encoded once for all of them, not once per client.
 */
export class EventSelection {
  readonly key: string;
  readonly index: IndexHint | undefined;
  readonly #sanitizer: Sanitizer;
  readonly #canaryTopics: ReadonlySet<string>;
  readonly #filter: EventFilter | undefined;
  readonly #projection: Projection | undefined;
  // Clients of one selection are offered the same events at about the same time: one slot suffices.
  #last: PreparedEvent | undefined;
  #lastFrame: Buffer | undefined;
  #lastResult: Buffer | Skipped = 'unservable';

  constructor(key: string, sanitizer: Sanitizer, canaryTopics: ReadonlySet<string>, filter?: EventFilter, projection?: Projection) {
    this.key = key;
    this.#sanitizer = sanitizer;
    this.#canaryTopics = canaryTopics;
    this.#filter = filter;
    this.#projection = projection;
    this.index = filter?.index;
  }

  /** The frame to send for `event`, or why it is skipped. */
  select(event: PreparedEvent): Buffer | Skipped {
    // A suppression that arrived after the event was read (and cached) applies before it is sent.
    this.#sanitizer.refresh(event);
    const frame = event.frame;
    if (frame === undefined) return 'unservable';
    if (event.canary && !this.#canaryTopics.has(event.topic)) return 'canary';
    if (this.#filter === undefined && this.#projection === undefined) return frame;
    if (event !== this.#last || frame !== this.#lastFrame) {
      this.#last = event;
      this.#lastFrame = frame;
      this.#lastResult = this.#evaluate(event, frame);
    }
    return this.#lastResult;
  }

  #evaluate(event: PreparedEvent, frame: Buffer): Buffer | Skipped {
    const object = eventObject(event);
    if (object === undefined) return 'unservable';
    if (this.#filter !== undefined && !this.#filter.matches(object)) return 'filtered';
    return this.#projection === undefined ? frame : Buffer.from(dataLine(JSON.stringify(this.#projection.project(object))));
  }
}
