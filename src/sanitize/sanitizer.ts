import type { FastifyBaseLogger } from 'fastify';
import { eventObject, type PreparedEvent } from '../event/prepared-event.ts';
import type { Metrics } from '../metrics/registry.ts';
import { dataLineBuffer } from '../event/frame.ts';
import type { RedactedPages } from './redacted-pages.ts';
import { sanitize, type RevisionRef, type Sanitized } from './sanitize.ts';
import { BUILTIN_SHAPES, type ShapeTable } from './shape-table.ts';
import { visibilityChange } from './shapes.ts';
import type { SuppressionIndex } from './suppression-index.ts';

/** What a topic's events get: its streams' `remove_fields`, and the stream name for metrics. */
export interface TopicPolicy {
  stream: string;
  removeFields: readonly (readonly string[])[];
}

/** What an event was sanitized against, to tell when a later suppression or reload concerns it. */
export interface SanitizedState {
  revisions: RevisionRef[];
  page?: { domain: string; title: string };
  redacted: boolean;
  indexVersion: number;
  pagesVersion: number;
}

/**
 * Applies the sanitization rules to each event once, when it is read from Kafka, so its shared frame
 * never carries a hidden value; and again before it is sent, if a suppression (or a new redacted
 * pages list) arrived since, so events held in the fan-out cache obey it too.
 */
export class Sanitizer {
  readonly index: SuppressionIndex;
  readonly pages: RedactedPages;
  /** Replaced when the catalogue's schemas are (re)loaded; until then the hand-written and structural shapes. */
  shapes: ShapeTable = BUILTIN_SHAPES;
  readonly #policy: (topic: string) => TopicPolicy | undefined;
  readonly #metrics: Metrics;
  readonly #log: FastifyBaseLogger;
  /** What each event was sanitized against; absent: nothing in it can be hidden later. Dies with the event. */
  readonly #states = new WeakMap<PreparedEvent, SanitizedState>();

  constructor(index: SuppressionIndex, pages: RedactedPages, policy: (topic: string) => TopicPolicy | undefined, metrics: Metrics, log: FastifyBaseLogger) {
    this.index = index;
    this.pages = pages;
    this.#policy = policy;
    this.#metrics = metrics;
    this.#log = log;
  }

  /** Sanitizes a freshly read event (its frame is replaced when anything was removed). */
  prepare(event: PreparedEvent): PreparedEvent {
    const object = event.frame === undefined ? undefined : eventObject(event);
    if (object === undefined) return event;
    // A visibility change passing through counts before the event itself is sanitized.
    this.learn(object);
    this.#apply(event, object);
    return event;
  }

  /** Records a visibility change, from the follower or from an event read for a client. */
  learn(object: Record<string, unknown>): void {
    const change = visibilityChange(object);
    if (change !== undefined && this.index.set(change.wiki, change.revId, change.hidden)) {
      this.#metrics.suppressedRevisions.set(this.index.size);
      this.#metrics.suppressionEvictions.set(this.index.evicted);
      this.#log.info({ wiki: change.wiki, revId: change.revId, hidden: change.hidden }, 'revision visibility changed');
    }
  }

  /** Before sending: sanitizes again when a suppression or reload since concerns this event. */
  refresh(event: PreparedEvent): void {
    const state = this.#states.get(event);
    if (state === undefined || (state.indexVersion === this.index.version && state.pagesVersion === this.pages.version)) return;
    const concerned =
      state.revisions.some((r) => (this.index.hidden(r.wiki, r.revId) & ~r.hidden) !== 0) ||
      (state.page !== undefined && !state.redacted && this.pages.has(state.page.domain, state.page.title));
    state.indexVersion = this.index.version;
    state.pagesVersion = this.pages.version;
    const object = concerned ? eventObject(event) : undefined;
    if (object !== undefined) this.#apply(event, object);
  }

  #apply(event: PreparedEvent, object: Record<string, unknown>): void {
    const policy = this.#policy(event.topic);
    const result = sanitize(object, {
      removeFields: policy?.removeFields ?? [],
      hidden: (wiki, revId) => this.index.hidden(wiki, revId),
      redacted: (domain, title) => this.pages.has(domain, title),
      shapes: this.shapes,
    });
    if (result.removals.length > 0) {
      event.frame = dataLineBuffer(JSON.stringify(object));
      event.parsed = new WeakRef(object);
      this.#count(event, policy?.stream ?? event.topic, result);
    }
    if (result.revisions.length > 0 || result.page !== undefined) {
      const state: SanitizedState = { revisions: result.revisions, redacted: result.redacted, indexVersion: this.index.version, pagesVersion: this.pages.version };
      if (result.page !== undefined) state.page = result.page;
      this.#states.set(event, state);
    }
  }

  #count(event: PreparedEvent, stream: string, result: Sanitized): void {
    for (const removal of result.removals) this.#metrics.sanitizedFields.inc({ stream, rule: removal.rule });
    if (result.redacted) {
      // The audit trail EventStreams operators expect for redactions.
      this.#log.info({ stream, topic: event.topic, partition: event.partition, offset: event.offset, page: result.page, fields: result.removals.filter((r) => r.rule === 'redacted_page').map((r) => r.path) }, 'redacted an event about a redacted page');
    }
  }
}
