import { PARTS, type HiddenParts } from './hidden.ts';
import { emptyPath, removePath } from './remove-path.ts';
import { shapeOf, type ShapeTable } from './shape-table.ts';
import { valueAt } from './shapes.ts';

export type SanitizeRule = 'policy' | 'visibility' | 'suppressed' | 'redacted_page';

/** What to remove, besides what events say about themselves. */
export interface SanitizeRules {
  /** The stream's `remove_fields`, as path segments. */
  removeFields: readonly (readonly string[])[];
  /** Parts of a revision hidden since its events were written (the suppression index). */
  hidden(wiki: string, revId: number): HiddenParts;
  /** Whether the page is on the redacted list of its wiki domain. */
  redacted(domain: string, title: string): boolean;
  /** Where events of each schema carry which revision's parts. */
  shapes: ShapeTable;
}

export interface Removal {
  rule: SanitizeRule;
  path: string;
}

/** A revision an event refers to, and the parts that were removed for it. */
export interface RevisionRef {
  wiki: string;
  revId: number;
  hidden: HiddenParts;
}

export interface Sanitized {
  removals: Removal[];
  revisions: RevisionRef[];
  /** The page the event is about, when it has one (for redaction rechecks). */
  page?: { domain: string; title: string };
  redacted: boolean;
}

/**
 * Removes, in place, every value the event must not carry out: fields its stream never serves, the
 * hidden parts of the revisions it refers to (by its own visibility flags or a later suppression),
 * and the user fields of redacted pages. Never adds or changes anything else.
 */
export function sanitize(event: Record<string, unknown>, rules: SanitizeRules): Sanitized {
  const removals: Removal[] = [];
  const remove = (rule: SanitizeRule, path: readonly string[], how = removePath) => {
    if (how(event, path) > 0) removals.push({ rule, path: path.join('.') });
  };
  for (const path of rules.removeFields) remove('policy', path);

  const shape = shapeOf(event, rules.shapes);
  const scopes = shape.revisions(event);
  // Flags about one revision anywhere in the event (a visibility change's prior state) hide it everywhere.
  const byRevision = new Map<string, { ref: RevisionRef; inEvent: HiddenParts }>();
  for (const scope of scopes) {
    if (scope.wiki === undefined || scope.revId === undefined) continue;
    const key = `${scope.wiki}\u0000${scope.revId}`;
    const entry = byRevision.get(key) ?? { ref: { wiki: scope.wiki, revId: scope.revId, hidden: rules.hidden(scope.wiki, scope.revId) }, inEvent: 0 };
    entry.inEvent |= scope.inEvent;
    byRevision.set(key, entry);
  }
  for (const scope of scopes) {
    const entry = scope.wiki === undefined ? undefined : byRevision.get(`${scope.wiki}\u0000${scope.revId}`);
    const inEvent = entry?.inEvent ?? scope.inEvent;
    const hidden = inEvent | (entry?.ref.hidden ?? 0);
    for (const { bit } of PARTS) {
      if ((hidden & bit) === 0) continue;
      for (const path of scope.fields[bit] ?? []) remove(inEvent & bit ? 'visibility' : 'suppressed', path);
    }
  }
  const revisions = [...byRevision.values()].map(({ ref, inEvent }) => ({ ...ref, hidden: ref.hidden | inEvent }));

  const result: Sanitized = { removals, revisions, redacted: false };
  const domain = (event.meta as Record<string, unknown> | undefined)?.domain;
  const title = valueAt(event, shape.redaction.title);
  if (typeof domain === 'string' && typeof title === 'string') {
    result.page = { domain, title };
    if (rules.redacted(domain, title)) {
      result.redacted = true;
      for (const path of shape.redaction.remove) remove('redacted_page', path);
      for (const path of shape.redaction.empty) remove('redacted_page', path, emptyPath);
    }
  }
  return result;
}
