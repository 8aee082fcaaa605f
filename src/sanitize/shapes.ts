import type { Path, ScopeSpec } from './derive-scopes.ts';
import { CONTENT, COMMENT, USER, hiddenFromFlags, hiddenFromVisibility, type HiddenParts } from './hidden.ts';

/** A revision an event refers to, and where the event carries that revision's hideable parts. */
export interface RevisionScope {
  /** Absent when the event does not say which revision (its own flags still apply). */
  wiki?: string;
  revId?: number;
  /** Parts the event itself says are hidden (its visibility flags). */
  inEvent: HiddenParts;
  /** Fields holding each part of this revision in this event. */
  fields: Readonly<Record<number, readonly Path[]>>;
}

/** What EventStreams' `mediawiki_redacted_pages` does to an event about a redacted page. */
export interface Redaction {
  title: Path;
  remove: readonly Path[];
  empty: readonly Path[];
}

export interface EventShape {
  /** For logs and tests: the schema title, or how the shape was chosen. */
  name: string;
  revisions(event: Record<string, unknown>): RevisionScope[];
  redaction: Redaction;
}

const p = (dotted: string): Path => dotted.split('.');
const paths = (...dotted: string[]): Path[] => dotted.map(p);

/**
 * recentchange: `revision.new` is the revision the event is about; `user` and `comment` are its
 * (the old revision's parts are not in the event).
 */
export const RECENTCHANGE: EventShape = {
  name: 'recentchange',
  revisions(event) {
    const fields = { [USER]: paths('user'), [COMMENT]: paths('comment', 'parsedcomment', 'log_action_comment'), [CONTENT]: [] };
    return [scope(event.wiki, numberAt(event, ['revision', 'new']), genericFlags(event), fields)];
  },
  redaction: { title: p('title'), remove: paths('user'), empty: [] },
};

/**
 * Kinds whose performer is the revision's editor and whose top-level comment is in its comment (a
 * move's revision is the null revision the mover made, its comment quoting the move's).
 */
const REVISION_MAKING = new Set(['create', 'edit', 'move']);

/**
 * page_change: `revision` is the current revision, `prior_state.revision` the one before (or, for a
 * visibility change, the same revision's earlier flags). Each carries its own `is_*_visible` flags.
 */
export const PAGE_CHANGE: EventShape = {
  name: 'page_change',
  revisions(event) {
    const wiki = event.wiki_id;
    if (typeof wiki !== 'string') return [];
    const makes = REVISION_MAKING.has(String(event.page_change_kind));
    const deletes = event.page_change_kind === 'delete';
    const scopes: RevisionScope[] = [];
    const revision = objectAt(event, ['revision']);
    const revId = numberAt(event, ['revision', 'rev_id']);
    if (revision !== undefined && revId !== undefined) {
      scopes.push({
        wiki,
        revId,
        inEvent: hiddenFromFlags(revision),
        fields: {
          // A deletion's generated reason quotes the content and the only contributor ("content was: ...,
          // and the only contributor was ...").
          [USER]: [...paths('revision.editor'), ...(makes ? paths('performer') : []), ...(deletes ? paths('comment') : [])],
          [COMMENT]: [...paths('revision.comment'), ...(makes ? paths('comment') : [])],
          [CONTENT]: [...paths('revision.content_slots.*.content_body', 'revision.content_slots.*.content_sha1', 'revision.rev_sha1'), ...(deletes ? paths('comment') : [])],
        },
      });
    }
    const prior = objectAt(event, ['prior_state', 'revision']);
    const priorId = numberAt(event, ['prior_state', 'revision', 'rev_id']) ?? (event.page_change_kind === 'visibility_change' ? revId : undefined);
    if (prior !== undefined && priorId !== undefined) {
      scopes.push({
        wiki,
        revId: priorId,
        inEvent: hiddenFromFlags(prior),
        fields: {
          [USER]: paths('prior_state.revision.editor'),
          [COMMENT]: paths('prior_state.revision.comment'),
          [CONTENT]: paths('prior_state.revision.content_slots.*.content_body', 'prior_state.revision.content_slots.*.content_sha1', 'prior_state.revision.rev_sha1'),
        },
      });
    }
    return scopes;
  },
  redaction: { title: p('page.page_title'), remove: paths('revision.editor', 'prior_state.revision.editor'), empty: paths('performer') },
};

/** What EventStreams does for events other than recentchange and page_change about a redacted page. */
const PERFORMER_REDACTION: Redaction = { title: p('page_title'), remove: paths('performer'), empty: [] };

/** The shape of events whose revision scopes were derived from their schema (see derive-scopes.ts). */
export function derivedShape(name: string, specs: readonly ScopeSpec[]): EventShape {
  return {
    name,
    revisions(event) {
      const scopes: RevisionScope[] = [];
      for (const spec of specs) {
        const at = objectAt(event, spec.at);
        if (at === undefined) continue;
        const wiki = spec.wiki.map((path) => valueAt(event, path)).find((value) => typeof value === 'string');
        scopes.push(scope(wiki, numberAt(event, spec.revId), flagsAt(at), spec.fields));
      }
      return scopes;
    },
    redaction: PERFORMER_REDACTION,
  };
}

/** Whatever an object says about its revision's visibility: `is_*_visible`, `visibility`, `rev_deleted`. */
function flagsAt(at: Record<string, unknown>): HiddenParts {
  const visibility = objectAt(at, ['visibility']);
  return hiddenFromFlags(at) | (visibility === undefined ? 0 : hiddenFromVisibility(visibility)) | genericFlags(at);
}

function scope(wiki: unknown, revId: number | undefined, inEvent: HiddenParts, fields: RevisionScope['fields']): RevisionScope {
  const found: RevisionScope = { inEvent, fields };
  if (typeof wiki === 'string' && revId !== undefined) {
    found.wiki = wiki;
    found.revId = revId;
  }
  return found;
}

/** A `rev_deleted`-style bit field, as some producers carry it. */
function genericFlags(event: Record<string, unknown>): HiddenParts {
  const bits = event.rev_deleted;
  return typeof bits === 'number' && Number.isInteger(bits) ? bits & (CONTENT | COMMENT | USER) : 0;
}

/** The value at a fixed path of plain objects (no lists crossed), or undefined. */
export function valueAt(event: Record<string, unknown>, path: Path): unknown {
  let node: unknown = event;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

function objectAt(event: Record<string, unknown>, path: Path): Record<string, unknown> | undefined {
  const node = valueAt(event, path);
  return typeof node === 'object' && node !== null && !Array.isArray(node) ? (node as Record<string, unknown>) : undefined;
}

function numberAt(event: Record<string, unknown>, path: Path): number | undefined {
  const value = valueAt(event, path);
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
}

/** A visibility change an event announces: the revision's new hidden parts. */
export interface VisibilityChange {
  wiki: string;
  revId: number;
  hidden: HiddenParts;
}

/** `mediawiki.revision-visibility-change` events, and page_change events of kind `visibility_change`. */
export function visibilityChange(event: Record<string, unknown>): VisibilityChange | undefined {
  const schema = typeof event.$schema === 'string' ? event.$schema : '';
  if (schema.includes('/mediawiki/revision/visibility-change/')) {
    const visibility = objectAt(event, ['visibility']);
    const revId = numberAt(event, ['rev_id']);
    if (visibility === undefined || revId === undefined || typeof event.database !== 'string') return undefined;
    return { wiki: event.database, revId, hidden: hiddenFromVisibility(visibility) };
  }
  if (schema.includes('/mediawiki/page/change/') && event.page_change_kind === 'visibility_change') {
    const revision = objectAt(event, ['revision']);
    const revId = numberAt(event, ['revision', 'rev_id']);
    if (revision === undefined || revId === undefined || typeof event.wiki_id !== 'string') return undefined;
    return { wiki: event.wiki_id, revId, hidden: hiddenFromFlags(revision) };
  }
  return undefined;
}
