import type { FastifyBaseLogger } from 'fastify';
import { eventObject, type PreparedEvent } from '../event/prepared-event.ts';
import { keyWatch, watchable, type KeyWatch } from '../event/meta-splice.ts';
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

/** What a parsed event was sanitized against, to tell when a later suppression or reload concerns it. */
export interface SanitizedState {
  revisions: RevisionRef[];
  page?: { domain: string; title: string };
  redacted: boolean;
  indexVersion: number;
  pagesVersion: number;
}

/**
 * An event that was not parsed because nothing could be removed from it (see `Sanitizer.prepare`):
 * the versions of the index and the redacted pages it was checked against. Its `watched` values
 * say whether a later change concerns it.
 */
interface UncheckedState {
  unparsed: true;
  indexVersion: number;
  pagesVersion: number;
}

/**
 * The keys whose values decide whether sanitizing can remove anything from an event (ids are the
 * indexes; a topic's `remove_fields` keys follow them):
 * - revisions the suppression index may hide: a wiki (`wiki`, `wiki_id`, `database`, wherever the
 *   shapes look for one) and a revision id (`rev_id`, recentchange's `revision.new`);
 * - the event's own visibility flags (`rev_deleted`, `is_*_visible`, a `visibility` object) and
 *   visibility changes to learn (`visibility`, page_change's `page_change_kind`);
 * - `domain`, for redacted pages (`meta.domain`).
 */
const WATCHED = ['wiki', 'wiki_id', 'database', 'rev_id', 'new', 'domain', 'rev_deleted', 'is_content_visible', 'is_comment_visible', 'is_editor_visible', 'visibility', 'page_change_kind'] as const;
const [WIKI, WIKI_ID, DATABASE, REV_ID, NEW, DOMAIN, REV_DELETED, IS_CONTENT_VISIBLE, IS_COMMENT_VISIBLE, IS_EDITOR_VISIBLE, VISIBILITY, PAGE_CHANGE_KIND] = WATCHED.map((_, id) => id);
/** Members the service adds to `meta` (with `meta` itself when the event has none): not in the scanned bytes. */
const ADDED_META_KEYS = new Set(['topic', 'partition', 'offset', 'key', '*']);
const ZERO = 0x30;
const BACKSLASH = 0x5c;
const FALSE = Buffer.from('false');
const VISIBILITY_CHANGE = Buffer.from('"visibility_change"');

/**
 * Applies the sanitization rules to each event once, when it is read from Kafka, so its shared frame
 * never carries a hidden value; and again before it is sent, if a suppression (or a new redacted
 * pages list) arrived since, so events held in the fan-out cache obey it too.
 *
 * Parsing an event costs more than everything else done to it, so an event whose bytes were scanned
 * with this topic's watch (`watchFor`) is parsed only when something could be removed from it or
 * learnt from it: a `remove_fields` key, a visibility flag that hides something, a visibility change,
 * a (wiki, revision) pair the index hides, a domain with redacted pages. Otherwise it goes out as
 * read, and is checked again from its watched values when the index or the pages change.
 */
export class Sanitizer {
  readonly index: SuppressionIndex;
  readonly pages: RedactedPages;
  /** Replaced when the catalogue's schemas are (re)loaded; until then the hand-written and structural shapes. */
  shapes: ShapeTable = BUILTIN_SHAPES;
  readonly #policy: (topic: string) => TopicPolicy | undefined;
  readonly #metrics: Metrics;
  readonly #log: FastifyBaseLogger;
  /** Per topic: the watch for the policy it had when built (undefined: its events are always parsed). */
  readonly #watches = new Map<string, TopicWatch>();

  constructor(index: SuppressionIndex, pages: RedactedPages, policy: (topic: string) => TopicPolicy | undefined, metrics: Metrics, log: FastifyBaseLogger) {
    this.index = index;
    this.pages = pages;
    this.#policy = policy;
    this.#metrics = metrics;
    this.#log = log;
  }

  /**
   * The keys a scan of this topic's events notes so that `prepare` can tell whether it must parse
   * them; undefined when its `remove_fields` cannot be told from keys (every event is parsed).
   */
  watchFor(topic: string): KeyWatch | undefined {
    return this.#topicWatch(topic).watch;
  }

  #topicWatch(topic: string): TopicWatch {
    const policy = this.#policy(topic);
    const known = this.#watches.get(topic);
    if (known !== undefined && (known.policy === policy || sameRemovals(known.policy, policy))) {
      known.policy = policy;
      return known;
    }
    const built = { policy, ...watchOf(policy) };
    if (this.#watches.size > 10_000) this.#watches.clear();
    this.#watches.set(topic, built);
    return built;
  }

  /**
   * Sanitizes a freshly read event (its frame is replaced when anything was removed). `watch`: the
   * one its frame was scanned with (`watchFor(event.topic)`); without it the event is parsed.
   */
  prepare(event: PreparedEvent, watch?: KeyWatch): PreparedEvent {
    const frame = event.frame;
    if (frame === undefined) return event;
    const watched = event.watched;
    const topic = watch === undefined ? undefined : this.#topicWatch(event.topic);
    if (watched !== undefined && topic !== undefined && watch === topic.watch && !this.#mayRemove(frame, watched, topic.removed)) {
      if (concernsLater(watched)) event.sanitized = { unparsed: true, indexVersion: this.index.version, pagesVersion: this.pages.version } satisfies UncheckedState;
      return event;
    }
    const object = eventObject(event);
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
    const state = event.sanitized as SanitizedState | UncheckedState | undefined;
    if (state === undefined || (state.indexVersion === this.index.version && state.pagesVersion === this.pages.version)) return;
    let concerned: boolean;
    if ('unparsed' in state) {
      const frame = event.frame;
      const watched = event.watched;
      // Its frame is as it was read, and what it carries was watched: only new suppressions or pages matter.
      concerned = frame === undefined || watched === undefined || this.#mayRemove(frame, watched, undefined);
    } else {
      concerned =
        state.revisions.some((r) => (this.index.hidden(r.wiki, r.revId) & ~r.hidden) !== 0) ||
        (state.page !== undefined && !state.redacted && this.pages.has(state.page.domain, state.page.title));
    }
    state.indexVersion = this.index.version;
    state.pagesVersion = this.pages.version;
    const object = concerned ? eventObject(event) : undefined;
    if (object !== undefined) this.#apply(event, object);
  }

  /**
   * Whether sanitizing could remove anything from the event whose frame has these watched values,
   * or learn from it. `removed`: when it was just read, which watched keys its topic's policy
   * removes (its own flags and policy keys count then; later they have been dealt with).
   * Conservative: an unusual value (escaped, not a plain literal) says yes.
   */
  #mayRemove(frame: Buffer, watched: readonly number[], removed: readonly boolean[] | undefined): boolean {
    const checkIndex = this.index.size > 0;
    const checkPages = !this.pages.empty;
    let wikis = 0;
    let revisions = 0;
    for (let k = 0; k < watched.length; k += 3) {
      const id = watched[k] as number;
      const start = watched[k + 1] as number;
      const end = watched[k + 2] as number;
      if (removed?.[id] === true) return true;
      if (id === WIKI || id === WIKI_ID || id === DATABASE) wikis++;
      else if (id === REV_ID || id === NEW) revisions++;
      else if (id === DOMAIN) {
        if (checkPages && mayBeRedacted(frame, start, end, this.pages)) return true;
      } else if (removed === undefined) continue;
      else if (id === REV_DELETED) {
        if (end - start !== 1 || frame[start] !== ZERO) return true;
      } else if (id === IS_CONTENT_VISIBLE || id === IS_COMMENT_VISIBLE || id === IS_EDITOR_VISIBLE) {
        if (bytesEqual(frame, start, end, FALSE)) return true;
      } else if (id === PAGE_CHANGE_KIND) {
        if (bytesEqual(frame, start, end, VISIBILITY_CHANGE) || frame.subarray(start, end).includes(BACKSLASH)) return true;
      } else if (id === VISIBILITY) return true;
    }
    if (!checkIndex || wikis === 0 || revisions === 0) return false;
    // Every (wiki, revision id) pair the event could name: more than the shapes pair up, never fewer.
    for (let w = 0; w < watched.length; w += 3) {
      const wid = watched[w] as number;
      if (wid !== WIKI && wid !== WIKI_ID && wid !== DATABASE) continue;
      const wiki = stringValue(frame, watched[w + 1] as number, watched[w + 2] as number);
      if (wiki === undefined) continue;
      for (let r = 0; r < watched.length; r += 3) {
        const rid = watched[r] as number;
        if (rid !== REV_ID && rid !== NEW) continue;
        const revId = integerValue(frame, watched[r + 1] as number, watched[r + 2] as number);
        if (revId !== undefined && this.index.hidden(wiki, revId) !== 0) return true;
      }
    }
    return false;
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
      event.watched = undefined;
      event.parsed = new WeakRef(object);
      this.#count(event, policy?.stream ?? event.topic, result);
    }
    if (result.revisions.length > 0 || result.page !== undefined) {
      const state: SanitizedState = { revisions: result.revisions, redacted: result.redacted, indexVersion: this.index.version, pagesVersion: this.pages.version };
      if (result.page !== undefined) state.page = result.page;
      event.sanitized = state;
    } else {
      event.sanitized = undefined;
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

/** A topic's watch, and per key id whether its presence alone means a `remove_fields` path applies. */
interface TopicWatch {
  policy: TopicPolicy | undefined;
  watch: KeyWatch | undefined;
  removed: boolean[];
}

/**
 * The watch for a topic's events: the keys above, and for each `remove_fields` path the last key it
 * names (nothing is removed where that key is absent). No watch when a path may reach what the
 * service adds to `meta` (not in the scanned bytes) or names no key a scan can watch.
 */
function watchOf(policy: TopicPolicy | undefined): Omit<TopicWatch, 'policy'> {
  const keys: string[] = [...WATCHED];
  const removed = keys.map(() => false);
  for (const path of policy?.removeFields ?? []) {
    const top = path[0];
    if (top === undefined || top === '*' || (top === 'meta' && (path.length === 1 || ADDED_META_KEYS.has(path[1] as string)))) return { watch: undefined, removed };
    const last = path.findLast((segment) => segment !== '*');
    if (last === undefined || !watchable(last)) return { watch: undefined, removed };
    let id = keys.indexOf(last);
    if (id < 0) {
      id = keys.push(last) - 1;
      removed.push(false);
    }
    removed[id] = true;
  }
  return { watch: keyWatch(keys), removed };
}

/** Policies built anew (a catalogue reload) mostly remove the same fields: their watch is the same. */
function sameRemovals(a: TopicPolicy | undefined, b: TopicPolicy | undefined): boolean {
  const x = a?.removeFields ?? [];
  const y = b?.removeFields ?? [];
  return x.length === y.length && x.every((path, i) => path.length === y[i]?.length && path.every((segment, k) => segment === y[i]?.[k]));
}

/** Whether a later suppression or redacted pages list could concern an event with these watched values. */
function concernsLater(watched: readonly number[]): boolean {
  for (let k = 0; k < watched.length; k += 3) {
    const id = watched[k];
    if (id === REV_ID || id === NEW || id === DOMAIN) return true;
  }
  return false;
}

/** A `domain` value: whether its wiki domain has redacted pages (an escaped string: maybe). */
function mayBeRedacted(frame: Buffer, start: number, end: number, pages: RedactedPages): boolean {
  if (frame[start] !== 0x22) return false;
  const domain = stringValue(frame, start, end);
  return domain === undefined || pages.hasDomain(domain);
}

/** The string a JSON value holds, or undefined when it is not a string. */
function stringValue(frame: Buffer, start: number, end: number): string | undefined {
  if (frame[start] !== 0x22) return undefined;
  // Wiki ids and domains are short and ASCII: no escapes to decode, one byte per character.
  let plain = true;
  for (let k = start + 1; k < end - 1 && plain; k++) plain = (frame[k] as number) < 0x80 && frame[k] !== BACKSLASH;
  if (plain) return frame.toString('latin1', start + 1, end - 1);
  const value: unknown = JSON.parse(frame.toString('utf8', start, end));
  return typeof value === 'string' ? value : undefined;
}

/** The safe integer a JSON value holds (`12`, `1.2e1`), or undefined. */
function integerValue(frame: Buffer, start: number, end: number): number | undefined {
  // Plain digits (revision ids): summed here; anything else (sign, fraction, exponent, 16+ digits) as JSON reads it.
  let value = 0;
  if (end - start <= 15) {
    for (let k = start; k < end; k++) {
      const digit = (frame[k] as number) - 0x30;
      if (digit < 0 || digit > 9) {
        value = -1;
        break;
      }
      value = value * 10 + digit;
    }
    if (value >= 0) return value;
  }
  const c = frame[start] as number;
  if (c !== 0x2d && (c < 0x30 || c > 0x39)) return undefined;
  const parsed = Number(frame.toString('latin1', start, end));
  return Number.isSafeInteger(parsed) ? parsed : undefined;
}

function bytesEqual(frame: Buffer, start: number, end: number, expected: Buffer): boolean {
  if (end - start !== expected.length) return false;
  for (let k = 0; k < expected.length; k++) if (frame[start + k] !== expected[k]) return false;
  return true;
}
